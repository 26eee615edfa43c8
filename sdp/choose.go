package sdp

// choice is the codec picked for a section: the index of the local codec and the
// indexes into section.formats of the offered format and its repair formats (-1 for
// none).
type choice struct {
	local, format            int
	rtx, red, redRTX, ulpfec int
}

func (c *choice) pt(s *section, i int) uint8 {
	if i < 0 {
		return 0
	}
	return s.formats[i].pt
}

// choose picks the first local codec, in the local order of preference, that the
// offer has (name case-insensitive, clock rate, channels, fmtp compatibility), then
// the repair formats that protect it.
func choose(s *section, m *MediaConfig) (choice, bool) {
	c := choice{rtx: -1, red: -1, redRTX: -1, ulpfec: -1}
	codecs := m.codecs(s.kind)
	found := false
	for li := range codecs {
		if c.format = s.match(&codecs[li]); c.format >= 0 {
			c.local, found = li, true
			break
		}
	}
	if !found {
		return c, false
	}
	primary := int(s.formats[c.format].pt)
	video := s.kind == KindVideo
	if video && !m.NoRTX {
		c.rtx = s.find("rtx", primary)
	}
	if m.RED {
		if video {
			c.red = s.find("red", -1)
		} else {
			c.red = s.find("red", primary)
		}
		if c.red >= 0 && video && !m.NoRTX {
			c.redRTX = s.find("rtx", int(s.formats[c.red].pt))
		}
	}
	if m.ULPFEC && video {
		c.ulpfec = s.find("ulpfec", -1)
	}
	return c, true
}

// match returns the index of the first offered format usable for local, or -1.
func (s *section) match(local *Codec) int {
	clock := local.clockRate(s.kind)
	for i := range s.formats {
		f := &s.formats[i]
		if !isName(f.name, local.Name) || f.clock != clock {
			continue
		}
		if s.kind == KindAudio && f.channels != local.channels() {
			continue
		}
		if fmtpCompatible(local.Name, local.Fmtp, f.params) {
			return i
		}
	}
	return -1
}

// find returns the first format named name whose associated payload type is apt
// (any when apt is -1), or -1.
func (s *section) find(name string, apt int) int {
	for i := range s.formats {
		f := &s.formats[i]
		if isName(f.name, name) && (apt < 0 || f.apt == apt) {
			return i
		}
	}
	return -1
}
