// Package readme holds the test that the Go code blocks of the repository's
// README compile and do not drift: each block is announced by a comment
// naming the function that holds it (an Example or a test of the package
// it uses), and must equal that function's body (or, for a block that is a
// whole function, the function) up to indentation. The "Your own module"
// block is built and run by internal/extmodule instead. It has no code of
// its own.
package readme
