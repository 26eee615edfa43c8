// Package interop holds tests of streamwire that need heavy peers; it is a separate module so that the library's go.mod stays lean.
package interop
