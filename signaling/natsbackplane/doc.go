// Package natsbackplane lets several streamwire server instances share
// AppRTC rooms (package signaling/apprtc) and KVS signaling channels
// (package signaling/kvs) through a NATS system with JetStream: a client
// of a room or a channel may be served by any instance, and a message
// reaches its recipient's WebSocket on whichever instance holds it. It is
// a module of its own, so that a program that uses streamwire without it
// does not download the NATS client.
//
// # Wiring
//
// One Backplane per instance, and from it the stores that the servers
// take in their Config:
//
//	bp, err := natsbackplane.Connect(ctx, "nats://127.0.0.1:4222", natsbackplane.Config{})
//	rooms, err := bp.AppRTC(ctx, apprtcCfg)  // apprtcCfg.Store = rooms
//	channels, err := bp.KVS(ctx, kvsCfg)     // kvsCfg.Store = channels
//	...
//	// at shutdown: close the apprtc and kvs Servers, then
//	bp.Close()
//
// Give the stores the same Config as the servers (time-outs and limits
// are read from it). Every instance must use the same Config.Prefix.
//
// # Data model
//
// Two JetStream KV buckets, each with history 1 and per-key TTLs
// (LimitMarkerTTL = Config.MarkerTTL), on file storage by default:
//
//	PREFIX_apprtc
//	  room.ROOM                 the room: its participants (id, seat held,
//	                            Collider client held, the WebSocket it
//	                            registered as INSTANCE+SINK), the messages a
//	                            lone seat saved, the Collider messages
//	                            queued for the other client. JSON. No TTL.
//	  lease.ROOM.CLIENT         a participant's lease: "" while it has no
//	                            WebSocket, "INSTANCE.SINK" while it has one.
//	PREFIX_kvs
//	  ch.HEX(NAME)              the channel (ARN, creation time,
//	                            MessageTtlSeconds, version, tags), where its
//	                            master and viewers are connected, and the
//	                            messages kept for clients that are not, each
//	                            with its expiry. JSON. No TTL.
//	  lease.HEX(NAME).m         the master's lease: "INSTANCE.SINK".
//	  lease.HEX(NAME).HEX(ID)   viewer ID's lease. (Names and ids may hold
//	                            '.', a token separator: hence hex.)
//
// Every change to a room or a channel is a compare-and-set on the key's
// revision (JetStream's Nats-Expected-Last-Subject-Sequence): read, change,
// write if nobody wrote meanwhile, else read again (at most
// Config.MaxRetries times, then ErrContention). Of two joins racing for a
// room's last seat on two instances, the second write fails, its join
// reads the room again and answers FULL. A message is queued by a
// compare-and-set on the revision that showed its recipient without a
// WebSocket, so a registration that lands meanwhile either takes the
// message with the queue or is seen on the next attempt: nothing is left
// behind in a queue nobody will read.
//
// # The document cache
//
// Each instance caches the room and channel documents it read or wrote
// (up to Config.CacheEntries), and a KV watch on room.* and ch.* drops an
// entry as soon as another instance writes its key. Sending a message
// reads the recipient's WebSocket from the cached document: no KV read,
// one NATS request to the recipient's instance (none when it is this
// one). The cache only ever saves reads, never decides: every write is
// still a compare-and-set on the revision read, a cached entry that lost
// is dropped and read again, and a decision to write nothing (FULL, an
// unknown client, nothing to deregister) taken on a cached entry is taken
// again on a fresh read. A delivery to a WebSocket the cache names goes
// only where that WebSocket is still bound (sink ids are never reused);
// otherwise the message is queued on a fresh read. Leases are refreshed
// 256 at a time, published before their acknowledgements are awaited.
//
// A participant's seat lives as long as its lease, and the time-outs of
// the Collider are the lease's TTLs (whole seconds): RegisterTimeout after
// a join or a Collider POST, LeaseTTL while the client has a WebSocket
// (rewritten every LeaseTTL/3 by the instance that holds it, and by no
// other), ReconnectGrace after its WebSocket closed. A participant whose
// lease is gone no longer counts: the room drops it the next time a join,
// a register or a full room needs the space, and GET /r/{room} does not
// count it. KVS connections have leases too (LeaseTTL while connected, no
// grace, as AWS); a viewer whose lease is gone does not count against
// MaxViewers.
//
// # Subjects
//
// Each instance subscribes to PREFIX.i.INSTANCE.* with core NATS (no
// JetStream). Messages for the WebSockets of instance INSTANCE travel in
// batches, requests to PREFIX.i.INSTANCE.b: for each message the sink id
// and the payload's length as uvarints, then the payload (the Collider
// message, or a KVS message as its type and sender, each after a uvarint
// length, then its base64 payload); the reply is one byte a message, '1'
// taken or '0' refused. One batch to an instance is in flight at a time,
// and what is sent meanwhile goes in the next: a lone message goes at
// once, under load a round trip carries many, and the messages to one
// instance keep their order. Other operations on the WebSocket SINK are
// requests to PREFIX.i.INSTANCE.SINK of one byte ('P' is the sink still
// bound, 'C' close it), answered '1' or '0'. A sink on the same instance
// is reached without NATS. A delivery that is refused, or finds no
// subscriber, is queued as when the recipient has no WebSocket. Stats
// counts the messages that crossed NATS (Forwarded, Received), the
// requests that carried them (Batches) and those that did not cross
// (Local).
//
// # When an instance dies
//
// Its subscription goes with its connection, so messages to its
// WebSockets find no responder at once and are queued for the clients'
// return. Its clients' leases are no longer refreshed: their seats are
// free LeaseTTL (15 s) after the last refresh at most. A client that
// registers again elsewhere before then takes its seat over (the room
// names its old WebSocket; asked, nobody answers for it) and gets what
// was queued. An instance that stops cleanly (its servers closed, then
// Backplane.Close) deregisters its WebSockets first: their clients keep
// their seats and queues for the ReconnectGrace and register again on any
// instance, a restarted one included. Rooms whose participants all died
// stay in the bucket, as small JSON values, until used again.
//
// # When NATS is unreachable
//
// Every request waits at most Config.Timeout (2 s), a delivery to another
// instance at most Config.DeliveryTimeout (10 s, its wait behind other
// batches included: an instance that is gone answers at once, so this
// only bounds a slow one). The stores then fail
// with ErrTimeout or ErrUnavailable wrapping the NATS error: the AppRTC
// room API answers result ERROR, GET /r/{room} 503, the Collider its
// error texts (HTTP 500, an error frame); the KVS API answers 503
// ServiceUnavailableException, on REST calls and WebSocket upgrades. The
// connection made by Connect reconnects without end. WebSockets stay
// open; an instance cut off for longer than LeaseTTL finds its leases
// gone when it comes back and closes those WebSockets, so that their
// clients register again.
//
// # Limits
//
// The queues are bounded as in the memory stores (apprtc's and kvs's
// MaxQueuedMessages and MaxQueuedBytes), and a room or a channel, queues
// included, must also fit in one NATS message (the server's max_payload,
// 1 MiB by default, less 4 KiB): past that, apprtc answers "Too many
// messages queued for the client" and kvs ClientLimitExceededException.
// KVS's MaxChannels is checked against a listing made just before the
// create, so creates racing on several instances may pass it by as many
// as race.
//
// # Differences from the memory stores
//
//   - Time-outs have a resolution of one second (JetStream's per-message
//     TTL) and are rounded up.
//   - A kept KVS message expires by the Clock of the instance that kept
//     it; instances should agree on the time to a second.
//   - A message whose delivery request times out (the recipient's
//     instance is alive but slow) is reported as an error to its sender,
//     not queued: it may have been delivered.
package natsbackplane
