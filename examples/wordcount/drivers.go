package main

// The cloud schemes --input and --output accept: package filesystem opens a
// URL scheme only when the program imports its gocloud.dev driver, as
// gocloud's blob.OpenBucket does. A program that reads only local files
// imports none, and links none of their SDKs.
import (
	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
	_ "gocloud.dev/blob/gcsblob"   // gs:// URLs
	_ "gocloud.dev/blob/s3blob"    // s3:// URLs
)
