//go:build !unix

package sockio

// msgTrunc is zero where ReadMsgUDP reports no truncation flag.
const msgTrunc = 0
