package main

import "crypto/tls"

// insecureTLS skips certificate verification, for -insecure against test
// servers with self-signed certificates.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
