package rtmp

import "time"

// Defaults of the configuration fields of ServerConfig, ClientConfig,
// HandshakeConfig and ConnConfig: a zero field means the constant named in
// its doc comment. ReaderConfig's are next to it (DefaultMaxMessageSize...).
const (
	// DefaultHandshakeTimeout bounds a whole handshake
	// (HandshakeConfig.Timeout).
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultClientVersion is the version field of a digest C1, 9.0.124.2
	// as ffmpeg sends it, big-endian (HandshakeConfig.ClientVersion).
	DefaultClientVersion uint32 = 0x09007C02
	// DefaultServerVersion is the version field of a digest S1,
	// 13.14.10.13 as nginx-rtmp sends it, big-endian
	// (HandshakeConfig.ServerVersion). Its first byte must be >= 3 for
	// ffmpeg to validate S1 and S2.
	DefaultServerVersion uint32 = 0x0D0E0A0D
	// DefaultReadTimeout bounds each read of a Conn (ConnConfig.ReadTimeout).
	DefaultReadTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds each write (ConnConfig.WriteTimeout,
	// ServerConfig.WriteTimeout).
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout closes a server connection that sends nothing
	// for this long while it does not play (ServerConfig.IdleTimeout).
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxStreams is the number of createStream calls a server
	// allows per connection (ServerConfig.MaxStreams).
	DefaultMaxStreams = 8
	// DefaultAnnouncedChunkSize is the chunk size a Server or Client
	// announces with Set Chunk Size after connecting
	// (ServerConfig.ChunkSize, ClientConfig.ChunkSize). It equals
	// SharedChunkSize, so that players share pre-built media chunks.
	DefaultAnnouncedChunkSize = SharedChunkSize
	// DefaultWindowAckSize is the Window Acknowledgement Size a server
	// sends after connect (ServerConfig.WindowAckSize), as nginx-rtmp
	// and SRS do.
	DefaultWindowAckSize = 2500000
	// DefaultPeerBandwidth is the Set Peer Bandwidth window a server sends
	// after connect (ServerConfig.PeerBandwidth), as nginx-rtmp and SRS do.
	DefaultPeerBandwidth = 2500000
	// DefaultFlashVer is the flashVer of a Client's connect
	// (ClientConfig.FlashVer); servers treat "FMLE/3.0" like OBS and ffmpeg.
	DefaultFlashVer = "FMLE/3.0 (compatible; streamwire)"
)
