package deps
import (
 _ "gocloud.dev/blob"
 _ "gocloud.dev/blob/fileblob"
 _ "gocloud.dev/blob/memblob"
 _ "gocloud.dev/blob/s3blob"
 _ "gocloud.dev/blob/gcsblob"
 _ "gocloud.dev/blob/azureblob"
 _ "github.com/johannesboyne/gofakes3"
 _ "github.com/johannesboyne/gofakes3/backend/s3mem"
 _ "github.com/klauspost/compress/zstd"
 _ "github.com/dsnet/compress/bzip2"
 _ "github.com/google/go-cmp/cmp"
 _ "google.golang.org/grpc"
 _ "gopkg.in/yaml.v3"
)
