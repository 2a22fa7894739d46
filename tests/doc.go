// Package tests holds the repository's integration tests: whole programs
// built from the other packages, run against real sockets.
package tests
