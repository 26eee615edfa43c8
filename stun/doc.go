// Package stun placeholder.
package stun
