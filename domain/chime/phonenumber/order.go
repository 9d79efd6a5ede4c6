package phonenumber

import (
	"fmt"
	"time"

	"github.com/belfry/belfry/domain"
)

// Order stream names and statuses.
const (
	OrderStreamPrefix   = "chime.phonenumberorder-"
	TypeOrderCreated    = "chime.phonenumberorder.created.v1"
	TypeOrderNumberDone = "chime.phonenumberorder.number_processed.v1"
	TypeOrderCompleted  = "chime.phonenumberorder.completed.v1"
	OrderProcessing     = "Processing"
	OrderSuccessful     = "Successful"
	OrderPartial        = "Partial"
	OrderFailed         = "Failed"
	NumberProcessing    = "Processing"
	NumberAcquired      = "Acquired"
	NumberFailed        = "Failed"
	MaxNumbersPerOrder  = 500
)

// ErrOrderTooLarge is returned for an order of more than MaxNumbersPerOrder numbers.
var ErrOrderTooLarge = &domain.Error{Kind: domain.KindLimitExceeded, Msg: "too many numbers in one order"}

// OrderStreamName is the stream of one order.
func OrderStreamName(id string) string { return OrderStreamPrefix + id }

// OrderCreated records an order; its numbers are acquired asynchronously.
type OrderCreated struct {
	AwsAccountID string    `json:"awsAccountId"`
	ProductType  string    `json:"productType"`
	Numbers      []string  `json:"numbers"`
	At           time.Time `json:"at"`
}

// OrderNumberProcessed records the outcome for one number of the order.
type OrderNumberProcessed struct {
	E164     string    `json:"e164"`
	Acquired bool      `json:"acquired"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// OrderCompleted records the final status.
type OrderCompleted struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

func (OrderCreated) EventType() string         { return TypeOrderCreated }
func (OrderNumberProcessed) EventType() string { return TypeOrderNumberDone }
func (OrderCompleted) EventType() string       { return TypeOrderCompleted }

// Order is an order folded from its events.
type Order struct {
	ID           string
	AwsAccountID string
	ProductType  string
	Numbers      []string
	Results      map[string]string // number → Acquired / Failed
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// InitialOrder is an order never created.
func InitialOrder() Order { return Order{} }

// OrderCommand is the sealed set of order commands.
type OrderCommand interface{ isOrderCommand() }

// CreateOrder places an order.
type CreateOrder struct {
	OrderID, AwsAccountID, ProductType string
	Numbers                            []string
}

// RecordResult records one number's outcome; the last one completes the order.
type RecordResult struct {
	E164     string
	Acquired bool
	Reason   string
}

func (CreateOrder) isOrderCommand()  {}
func (RecordResult) isOrderCommand() {}

// DecideOrder applies an order command.
func DecideOrder(o Order, c OrderCommand, now time.Time) ([]Event, error) {
	switch c := c.(type) {
	case CreateOrder:
		if o.Status != "" {
			return nil, nil
		}
		if !ValidProduct(c.ProductType) {
			return nil, domain.Wrapf(ErrInvalidNumber, "ProductType must be BusinessCalling, VoiceConnector or SipMediaApplicationDialIn, got %q", c.ProductType)
		}
		if len(c.Numbers) == 0 {
			return nil, domain.Wrapf(ErrInvalidNumber, "E164PhoneNumbers must not be empty")
		}
		if len(c.Numbers) > MaxNumbersPerOrder {
			return nil, domain.Wrapf(ErrOrderTooLarge, "an order holds at most %d numbers, got %d", MaxNumbersPerOrder, len(c.Numbers))
		}
		seen := map[string]bool{}
		for _, n := range c.Numbers {
			if err := ValidateE164(n); err != nil {
				return nil, err
			}
			if seen[n] {
				return nil, domain.Wrapf(ErrInvalidNumber, "%s appears twice in the order", n)
			}
			seen[n] = true
		}
		return []Event{OrderCreated{AwsAccountID: c.AwsAccountID, ProductType: c.ProductType, Numbers: c.Numbers, At: now.UTC()}}, nil
	case RecordResult:
		if o.Status != OrderProcessing {
			return nil, nil
		}
		if _, done := o.Results[c.E164]; done {
			return nil, nil
		}
		out := []Event{OrderNumberProcessed{E164: c.E164, Acquired: c.Acquired, Reason: c.Reason, At: now.UTC()}}
		if len(o.Results)+1 == len(o.Numbers) {
			acquired := 0
			for _, r := range o.Results {
				if r == NumberAcquired {
					acquired++
				}
			}
			if c.Acquired {
				acquired++
			}
			status := OrderPartial
			switch acquired {
			case len(o.Numbers):
				status = OrderSuccessful
			case 0:
				status = OrderFailed
			}
			out = append(out, OrderCompleted{Status: status, At: now.UTC()})
		}
		return out, nil
	}
	return nil, fmt.Errorf("phonenumber: unknown order command %T", c)
}

// EvolveOrder folds an order event.
func EvolveOrder(o Order, e Event) Order {
	switch e := e.(type) {
	case OrderCreated:
		o = Order{AwsAccountID: e.AwsAccountID, ProductType: e.ProductType, Numbers: e.Numbers, Results: map[string]string{},
			Status: OrderProcessing, CreatedAt: e.At, UpdatedAt: e.At}
	case OrderNumberProcessed:
		r := map[string]string{}
		for k, v := range o.Results {
			r[k] = v
		}
		if e.Acquired {
			r[e.E164] = NumberAcquired
		} else {
			r[e.E164] = NumberFailed
		}
		o.Results, o.UpdatedAt = r, e.At
	case OrderCompleted:
		o.Status, o.UpdatedAt = e.Status, e.At
	}
	return o
}
