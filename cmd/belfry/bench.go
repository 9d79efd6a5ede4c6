package main

import (
	"context"
	"fmt"
)

func cmdBench(ctx context.Context, cfg Config, args []string) error {
	return fmt.Errorf("bench: pending")
}
