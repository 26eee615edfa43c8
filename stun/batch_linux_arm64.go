package stun

// System call numbers of recvmmsg(2) and sendmmsg(2) on linux/arm64.
const (
	sysRECVMMSG = 243
	sysSENDMMSG = 269
)
