// Package sockio holds all raw socket I/O of the module: batched UDP reads
// and writes (recvmmsg(2)/sendmmsg(2)) with the local address of each
// datagram (IP_PKTINFO, IPV6_PKTINFO) and, on request, runs of datagrams
// to one destination as one UDP GSO send (UDP_SEGMENT), vectored TCP
// writes (writev(2)), non-blocking sends on a duplicated descriptor, and
// raw reads.
//
// It is the only package of the module that imports unsafe or calls
// system calls itself. It builds on golang.org/x/sys/unix's constants and
// types (SYS_RECVMMSG, Msghdr, Iovec, RawSockaddrInet6, Inet6Pktinfo):
// no system call number or kernel struct layout is written by hand, except
// struct mmsghdr, which x/sys does not define (golang/sys#284), and whose
// size is checked at compile time. System calls go through the socket's
// syscall.RawConn, so Go's netpoller, deadlines and Close keep working;
// sends are raw system calls, which the scheduler does not track, since on
// a non-blocking socket they never sleep.
//
// Elsewhere (not Linux, or connections that are not sockets) the same API
// works through plain net.PacketConn and net.Conn calls: one datagram per
// call, net.Buffers for vectored writes.
//
// The hot paths allocate nothing per datagram or write; see the benchmarks.
package sockio
