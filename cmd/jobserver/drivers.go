package main

// The cloud schemes --checkpoint_root accepts: package filesystem opens a
// URL scheme only when the program imports its gocloud.dev driver (mem://
// and file:// need none).
import (
	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
	_ "gocloud.dev/blob/gcsblob"   // gs:// URLs
	_ "gocloud.dev/blob/s3blob"    // s3:// URLs
)
