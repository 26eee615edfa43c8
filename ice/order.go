package ice

import (
	"cmp"
	"slices"
)

// SortForAnswer orders local candidates, in place, for an answer or a
// candidate list: UDP host candidates with an IP address first, then the
// rest; within each group by Priority, highest first; ties keep their order.
//
// The first rule is for ffmpeg's WHIP muxer (libavformat/whip.c), which reads
// only the first a=candidate line of the answer and sends to that address
// over UDP: a TCP, relayed or mDNS candidate in first place would leave it
// without a usable address. It does not allocate.
func SortForAnswer(cands []Candidate) {
	slices.SortStableFunc(cands, func(a, b Candidate) int {
		if r := cmp.Compare(answerRank(&a), answerRank(&b)); r != 0 {
			return r
		}
		return cmp.Compare(b.Priority, a.Priority)
	})
}

// answerRank is 0 for a UDP host candidate with an IP address, 1 otherwise.
func answerRank(c *Candidate) int {
	if c.Transport == TransportUDP && c.Type == TypeHost && c.Addr.IsValid() {
		return 0
	}
	return 1
}
