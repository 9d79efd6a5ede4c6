package wickrproto

import (
	"github.com/labstack/echo/v4"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/domain/wickr"
)

// ClientError answers an error of the Wickr client API: the AWS error shape, and the field a
// wickr.FieldError names (the first) as "Field".
func ClientError(c echo.Context, err error) error {
	if r := wickr.Reasons(err); len(r) > 0 {
		w := awsproto.ToWire(err)
		c.Response().Header().Set("X-Amzn-ErrorType", w.Type)
		return c.JSON(w.Status, map[string]string{"Code": w.Code, "Message": w.Msg, "Field": r[0].Field})
	}
	return awsproto.ClientError(c, err)
}
