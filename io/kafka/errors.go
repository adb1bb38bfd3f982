package kafka

import "fmt"

// PositionError is an error at a position of a partition: a record that
// could not be read or decoded, a partition that is gone, a broker that
// did not answer while reading from Offset.
type PositionError struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

// Error names the topic, partition and offset.
func (e *PositionError) Error() string {
	return fmt.Sprintf("kafka: topic %q partition %d offset %d: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *PositionError) Unwrap() error { return e.Err }
