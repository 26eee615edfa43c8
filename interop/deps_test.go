package interop

import (
	_ "github.com/pion/stun/v3"
	_ "github.com/pion/turn/v4"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/streamwire/streamwire/stun"
	_ "github.com/stretchr/testify/require"
)
