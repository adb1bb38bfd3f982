package operator

// NewFlatten returns the factory of a Flatten of collections of elements
// of type T, whose operations are ops.
func NewFlatten[T any](ops TypeOps) Factory { return &flattenFactory[T]{ops: ops} }

type flattenFactory[T any] struct{ ops TypeOps }

func (f *flattenFactory[T]) InputOps() TypeOps    { return f.ops }
func (f *flattenFactory[T]) OutputOps() []TypeOps { return []TypeOps{f.ops} }

// Build returns the output receiver as the input receiver: every input of a
// Flatten executing inside a stage delivers straight downstream.
func (f *flattenFactory[T]) Build(env *Env, outs []any) (Operator, any, error) {
	next, err := ReceiverOf[T](outs, 0, env.UniqueName)
	if err != nil {
		return nil, nil, err
	}
	return NoLifecycle{}, next, nil
}
