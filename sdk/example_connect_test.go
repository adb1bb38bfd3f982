package sdk_test

import (
	"context"
	"fmt"

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
