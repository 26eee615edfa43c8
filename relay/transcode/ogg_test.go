package transcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

// readAll reads every audio packet of an Ogg Opus stream.
func readAll(b []byte) (*oggOpusReader, []opusPacket, error) {
	r := newOggOpusReader(bytes.NewReader(b))
	var out []opusPacket
	for {
		p, err := r.nextPacket()
		if err == io.EOF {
			return r, out, nil
		}
		if err != nil {
			return r, out, err
		}
		p.data = bytes.Clone(p.data)
		out = append(out, p)
	}
}

// runProbe lists a file's audio packets with ffprobe: pts, duration
// and size, one packet a line.
func runProbe(path string) (string, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "packet=pts,duration,size", "-of", "csv=p=0", path).Output()
	return string(out), err
}

// probePackets returns the sizes and durations (48 kHz samples) of a
// file's packets as ffprobe sees them.
func probePackets(t *testing.T, path string) (sizes, durations []int) {
	t.Helper()
	out, err := runProbe(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if line = strings.Trim(line, ", "); line == "" {
			continue // ffprobe writes an empty line after a packet with side data
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			t.Fatalf("ffprobe line %q", line)
		}
		d, err1 := strconv.Atoi(f[1])
		s, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("ffprobe line %q", line)
		}
		durations, sizes = append(durations, d), append(sizes, s)
	}
	return sizes, durations
}

// TestOggReaderFFmpeg: Ogg Opus files that ffmpeg writes, one packet per
// page and many, with 2.5 to 60 ms frames, read into the packets that
// ffprobe lists, with the same sizes and durations (but the last, which
// ffprobe trims) and positions that add up; the OpusHead's pre-skip is libopus's.
func TestOggReaderFFmpeg(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		skip int
	}{
		{"page-per-packet", []string{"-application", "lowdelay", "-frame_duration", "20", "-page_duration", "20000"}, 120},
		{"one-second-pages", []string{"-frame_duration", "20"}, 312},
		{"60ms-small-pages", []string{"-frame_duration", "60", "-b:a", "256k", "-oggpagesize", "300"}, 312},
		{"2.5ms", []string{"-application", "lowdelay", "-frame_duration", "2.5"}, 120},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempPath(t, "x.opus")
			args := append([]string{"-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "libopus"}, c.args...)
			ffmpegtest.Run(t, append(args, "-f", "opus", "-y", path)...)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, pkts, err := readAll(b)
			if err != nil {
				t.Fatal(err)
			}
			sizes, durations := probePackets(t, path)
			if len(pkts) != len(sizes) {
				t.Fatalf("%d packets, ffprobe lists %d", len(pkts), len(sizes))
			}
			var pos int64
			// The last page's granule position trims the last packet
			// (RFC 7845 §4.4), which ffprobe shows and the reader, made
			// for live streams, does not.
			durations[len(durations)-1] = pkts[len(pkts)-1].samples
			for i, p := range pkts {
				if len(p.data) != sizes[i] || p.samples != durations[i] || p.start != pos {
					t.Fatalf("packet %d: %d bytes, %d samples at %d; ffprobe: %d bytes, %d samples at %d", i, len(p.data), p.samples, p.start, sizes[i], durations[i], pos)
				}
				pos += int64(p.samples)
			}
			if r.head.preSkip != c.skip || r.head.channels != 2 {
				t.Fatalf("OpusHead %+v, want pre-skip %d, stereo", r.head, c.skip)
			}
		})
	}
}

// oggStream builds an Ogg Opus stream page by page for the tests.
type oggStream struct {
	b   []byte
	seq uint32
}

// page appends a page of segments (lacing values) over body.
func (s *oggStream) page(typ byte, granule int64, lacing []byte, body []byte) *oggStream {
	start := len(s.b)
	s.b = append(s.b, "OggS\x00"...)
	s.b = append(s.b, typ)
	s.b = binary.LittleEndian.AppendUint64(s.b, uint64(granule))
	s.b = binary.LittleEndian.AppendUint32(s.b, 7)
	s.b = binary.LittleEndian.AppendUint32(s.b, s.seq)
	s.b = append(s.b, 0, 0, 0, 0, byte(len(lacing)))
	s.b = append(append(s.b, lacing...), body...)
	binary.LittleEndian.PutUint32(s.b[start+22:], oggChecksum(0, s.b[start:]))
	s.seq++
	return s
}

func newOggStream() *oggStream {
	s := &oggStream{}
	head := []byte("OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	tags := []byte("OpusTags\x00\x00\x00\x00\x00\x00\x00\x00")
	return s.page(2, 0, []byte{byte(len(head))}, head).page(0, 0, []byte{byte(len(tags))}, tags)
}

// celt20 is a 20 ms CELT packet of n bytes (TOC config 31, code 0).
func celt20(n int, fill byte) []byte {
	p := bytes.Repeat([]byte{fill}, n)
	p[0] = 31 << 3
	return p
}

// TestOggReaderPages: packets that span pages, several packets per page,
// a packet of exactly 255 bytes (a 0 lacing value after a 255) and a
// page on which no packet ends.
func TestOggReaderPages(t *testing.T) {
	a, b, c, d := celt20(600, 1), celt20(255, 2), celt20(10, 3), celt20(300, 4)
	s := newOggStream()
	s.page(0, granuleNoPacket, []byte{255, 255}, a[:510])         // a begins: no packet ends here
	s.page(1, 960, []byte{90, 255, 0, 10}, concat(a[510:], b, c)) // a ends, b (255 bytes), c
	s.page(0, 2880, []byte{255}, d[:255])                         // d begins; granule of c's end
	s.page(1|4, 3840, []byte{45}, d[255:])                        // d ends
	r, pkts, err := readAll(s.b)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{a, b, c, d}
	if len(pkts) != len(want) {
		t.Fatalf("%d packets, want %d", len(pkts), len(want))
	}
	for i, p := range pkts {
		if !bytes.Equal(p.data, want[i]) || p.samples != 960 || p.start != int64(960*i) {
			t.Fatalf("packet %d: %d bytes, %d samples at %d", i, len(p.data), p.samples, p.start)
		}
	}
	if r.head.preSkip != 312 {
		t.Fatalf("pre-skip %d", r.head.preSkip)
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestOggReaderErrors: each malformed stream ends the reader with an
// error that says what is wrong, never a panic or a hang.
func TestOggReaderErrors(t *testing.T) {
	good := newOggStream().page(0, 960, []byte{10}, celt20(10, 1)).b
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	big := newOggStream()
	for i := range 300 { // 300 pages of 255 bytes of one packet: over 64 KiB
		big.page(byte(min(i, 1)), granuleNoPacket, []byte{255}, make([]byte, 255))
	}
	tags := []byte("OpusTags\x00\x00\x00\x00\x00\x00\x00\x00")
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"checksum", flip(len(good) - 1), "checksum"},
		{"capture pattern", flip(0), "no page header"},
		{"no OpusHead", (&oggStream{}).page(2, 0, []byte{byte(len(tags))}, tags).b, "OpusHead"},
		{"sequence", (&oggStream{b: bytes.Clone(newOggStream().b), seq: 5}).page(0, 960, []byte{10}, celt20(10, 1)).b, "page 5 where 2"},
		{"second stream", secondSerial(good), "second logical stream"},
		{"truncated page", good[:len(good)-3], io.ErrUnexpectedEOF.Error()},
		{"truncated header", good[:len(good)-40], io.ErrUnexpectedEOF.Error()},
		{"code 3 without frames", newOggStream().page(0, 960, []byte{2}, []byte{31<<3 | 3, 0}).b, "frame count"},
		{"over 120 ms", newOggStream().page(0, 960, []byte{2}, []byte{3<<3 | 3, 3}).b, "over 120 ms"},
		{"empty packet", newOggStream().page(0, 960, []byte{0}, nil).b, "empty Opus packet"},
		{"continued nothing", newOggStream().page(1, 960, []byte{10}, celt20(10, 1)).b, "continued-packet flag"},
		{"packet cut short", newOggStream().page(0, -1, []byte{255}, make([]byte, 255)).page(0, 960, []byte{10}, celt20(10, 1)).b, "continued-packet flag"},
		{"no granule", newOggStream().page(0, -1, []byte{10}, celt20(10, 1)).b, "granule"},
		{"packet over 64 KiB", big.b, "over 65536 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one with %q", err, c.want)
			}
			if !errors.Is(err, errOgg) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v is neither errOgg nor io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// secondSerial rewrites the last page's serial number.
func secondSerial(b []byte) []byte {
	b = bytes.Clone(b)
	i := bytes.LastIndex(b, []byte("OggS"))
	b[i+14]++
	binary.LittleEndian.PutUint32(b[i+22:], 0)
	binary.LittleEndian.PutUint32(b[i+22:], oggChecksum(0, b[i:]))
	return b
}

// TestOpusSamples: durations from the TOC byte (RFC 6716 §3.1).
func TestOpusSamples(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0 << 3}, 480},        // SILK NB 10 ms
		{[]byte{3 << 3}, 2880},       // SILK NB 60 ms
		{[]byte{13 << 3}, 960},       // hybrid SWB 20 ms
		{[]byte{16 << 3}, 120},       // CELT NB 2.5 ms
		{[]byte{31<<3 | 1}, 1920},    // two 20 ms frames
		{[]byte{31<<3 | 2}, 1920},    // two frames of different sizes
		{[]byte{31<<3 | 3, 6}, 5760}, // six 20 ms frames: 120 ms
		{[]byte{3<<3 | 3, 2}, 5760},  // two 60 ms frames
	} {
		if got, err := opusSamples(c.p); got != c.want || err != nil {
			t.Errorf("TOC % x: %d, %v; want %d", c.p, got, err, c.want)
		}
	}
}

// The reader allocates nothing per packet: reading 500 packets costs the
// same few allocations (the reader and its buffers) as reading one.
func TestOggReaderAllocs(t *testing.T) {
	s := newOggStream()
	for i := range 500 {
		s.page(0, int64(960*(i+1)), []byte{100}, celt20(100, byte(i)))
	}
	n := testing.AllocsPerRun(5, func() {
		r := newOggOpusReader(bytes.NewReader(s.b))
		for {
			if _, err := r.nextPacket(); err != nil {
				break
			}
		}
	})
	if n > 5 {
		t.Fatalf("%.0f allocations for 500 packets", n)
	}
}
