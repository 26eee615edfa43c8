package stun

// System call numbers missing from package syscall on linux/amd64.
const (
	sysRECVMMSG = 299
	sysSENDMMSG = 307
)
