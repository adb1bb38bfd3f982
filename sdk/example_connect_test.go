package sdk_test

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
)

// priced is Flink's connect pattern: a stream of prices and a stream of
// orders, keyed by product, share the product's state. Prices update it;
// orders are emitted with the latest price, or held until the first price
// arrives.
type priced struct {
	Price   sdk.ValueState[int]
	Waiting sdk.BagState[int]
}

// ProcessFirst handles a price: remember it and release held orders.
func (f *priced) ProcessFirst(ctx context.Context, product string, price int, emit func(string)) error {
	if err := f.Price.Write(ctx, price); err != nil {
		return err
	}
	held, err := f.Waiting.Read(ctx)
	if err != nil {
		return err
	}
	for _, qty := range held {
		emit(fmt.Sprintf("%s: %d x %d", product, qty, price))
	}
	return f.Waiting.Clear(ctx)
}

// ProcessSecond handles an order: price it, or hold it.
func (f *priced) ProcessSecond(ctx context.Context, product string, qty int, emit func(string)) error {
	price, ok, err := f.Price.Read(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return f.Waiting.Add(ctx, qty)
	}
	emit(fmt.Sprintf("%s: %d x %d", product, qty, price))
	return nil
}

// CoParDo connects two keyed collections of different types into one
// stateful DoFn with a method per input, sharing the state of each key.
// Which input's element comes first is up to the runner; this DoFn gives
// the same rows either way (the ink order waits for a price forever).
func ExampleCoParDo() {
	p := sdk.NewPipeline()
	s := p.Root()
	prices := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("pen", 2)})
	orders := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("pen", 3), sdk.Pair("ink", 1)})
	rows := sdk.CoParDo(s, sdk.CoDoFn[string, int, int, string](&priced{}), prices, orders)
	out := newPrinted()
	sdk.ForEach(s, out, rows)
	out.print(p)
	// Output:
	// pen: 3 x 2
}

// A stream-stream join: clicks count for the impressions of the same ad
// that they follow within an hour; an impression no click followed comes
// out once, with no right side, when the watermark passes its hour.
func ExampleLeftOuterIntervalJoin() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	views, clicks := ts.Tag("impressions"), ts.Tag("clicks")
	minute := func(m int64) time.Time { return time.Unix(m*60, 0) }
	views.AddElementsAt(minute(0), sdk.Pair("ad1", "i1"), sdk.Pair("ad2", "i2"))
	clicks.AddElementsAt(minute(30), sdk.Pair("ad1", "c1"))
	clicks.AddElementsAt(minute(70), sdk.Pair("ad2", "c2")) // too late for i2
	views.AdvanceWatermarkToInfinity()
	clicks.AdvanceWatermarkToInfinity()
	joined := sdk.LeftOuterIntervalJoin(s, views.Output(), clicks.Output(), sdk.JoinInterval{Lower: 0, Upper: time.Hour})
	rows := sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[string, string]]) string {
		return fmt.Sprintf("%s %s clicked=%v %s", kv.Key, kv.Value.Left, kv.Value.HasRight, kv.Value.Right)
	}, joined)
	out := newPrinted()
	sdk.ForEach(s, out, rows)
	out.print(p)
	// Output:
	// ad1 i1 clicked=true c1
	// ad2 i2 clicked=false
}

// A full outer stream-stream join: orders and payments of the same
// customer within ten minutes of each other either way match; an order no
// payment matched, and a payment no order matched, each come out once,
// with the other side absent, when the watermark passes the last time a
// match could arrive.
func ExampleFullOuterIntervalJoin() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, string]](s)
	orders, payments := ts.Tag("orders"), ts.Tag("payments")
	minute := func(m int64) time.Time { return time.Unix(m*60, 0) }
	orders.AddElementsAt(minute(0), sdk.Pair("ann", "order1"), sdk.Pair("bob", "order2"))
	payments.AddElementsAt(minute(5), sdk.Pair("ann", "pay1"))
	payments.AddElementsAt(minute(30), sdk.Pair("bob", "pay2")) // too late for order2
	orders.AdvanceWatermarkToInfinity()
	payments.AdvanceWatermarkToInfinity()
	joined := sdk.FullOuterIntervalJoin(s, orders.Output(), payments.Output(), sdk.JoinInterval{Lower: -10 * time.Minute, Upper: 10 * time.Minute})
	rows := sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[string, string]]) string {
		l, r := kv.Value.Left, kv.Value.Right
		if !kv.Value.HasLeft {
			l = "-"
		}
		if !kv.Value.HasRight {
			r = "-"
		}
		return fmt.Sprintf("%s %s %s", kv.Key, l, r)
	}, joined)
	out := newPrinted()
	sdk.ForEach(s, out, rows)
	out.print(p)
	// Output:
	// ann order1 pay1
	// bob - pay2
	// bob order2 -
}

// An as-of join: each order is priced in dollars at the exchange rate of
// its currency that held at the order's time, whichever stream's element
// arrives first; an order in a currency with no rate by then comes out
// once with no right side.
func ExampleAsOfJoin() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[sdk.KV[string, float64]](s)
	orders, rates := ts.Tag("orders"), ts.Tag("rates")
	minute := func(m int64) time.Time { return time.Unix(m*60, 0) }
	orders.AddElementsAt(minute(30), sdk.Pair("EUR", 100.0), sdk.Pair("GBP", 10.0))
	orders.AddElementsAt(minute(90), sdk.Pair("EUR", 200.0))
	rates.AddElementsAt(minute(0), sdk.Pair("EUR", 1.10))
	rates.AddElementsAt(minute(60), sdk.Pair("EUR", 1.20))
	orders.AdvanceWatermarkToInfinity()
	rates.AdvanceWatermarkToInfinity()
	priced := sdk.AsOfJoin(s, orders.Output(), rates.Output(), sdk.AsOf{})
	rows := sdk.Map(s, func(kv sdk.KV[string, sdk.Joined[float64, float64]]) string {
		if !kv.Value.HasRight {
			return fmt.Sprintf("%g %s: no rate", kv.Value.Left, kv.Key)
		}
		return fmt.Sprintf("%g %s = %.2f USD", kv.Value.Left, kv.Key, kv.Value.Left*kv.Value.Right)
	}, priced)
	out := newPrinted()
	sdk.ForEach(s, out, rows)
	out.print(p)
	// Output:
	// 10 GBP: no rate
	// 100 EUR = 110.00 USD
	// 200 EUR = 240.00 USD
}
