// Package kvs is an AWS Kinesis Video Streams–compatible WebRTC signaling
// service in one http.Handler: the control plane (service kinesisvideo),
// the signaling data plane (kinesisvideosignaling) and the signaling
// WebSocket, speaking the wire formats of AWS's SDKs (aws-sdk-go-v2's
// kinesisvideo serializers, the AWS SDK for JavaScript v3, the KVS WebRTC
// JS and C SDKs) so that they work unchanged against it. signaling.md §3
// in the project's shared reference gives the formats field by field; this
// overview sums them up.
//
// # URL layout
//
// Mount a Server on its Pattern (Config.Prefix + "/", "/kvs/" by
// default). Clients take BaseEndpoint https://HOST/kvs for the control
// plane; GetSignalingChannelEndpoint hands out the other two:
//
//	POST /kvs/createSignalingChannel          control plane (restJson1)
//	POST /kvs/describeSignalingChannel
//	POST /kvs/listSignalingChannels
//	POST /kvs/deleteSignalingChannel
//	POST /kvs/getSignalingChannelEndpoint     → wss://HOST/kvs/ws, https://HOST/kvs
//	POST /kvs/v1/get-ice-server-config        data plane, at the HTTPS endpoint
//	POST /kvs/v1/send-alexa-offer-to-master
//	GET  /kvs/ws?X-Amz-ChannelARN=...[&X-Amz-ClientId=...]   the WebSocket (WSS endpoint)
//	OPTIONS /kvs/...                          CORS preflight
//
// The endpoints are always https:// and wss:// (HOST is Config.PublicURL's
// host, else the request's): the KVS JS SDK refuses a WebSocket endpoint
// that does not start with wss://, so the server that mounts this handler
// serves it over TLS. Master and viewer get the same endpoints; the role
// is the presence of X-Amz-ClientId.
//
// # REST API
//
// Every operation is POST with a JSON body and answers JSON with AWS's
// keys, e.g. DescribeSignalingChannel:
//
//	{"ChannelInfo":{"ChannelARN":"arn:aws:kinesisvideo:us-east-1:000000000000:channel/door/1700000000000",
//	 "ChannelName":"door","ChannelStatus":"ACTIVE","ChannelType":"SINGLE_MASTER",
//	 "CreationTime":1700000000,"SingleMasterConfiguration":{"MessageTtlSeconds":60},
//	 "Version":"kdbJxhgP2TDNuCsonvS5"}}
//
// GetIceServerConfig answers {"IceServerList":[{"Uris":[...],"Username":...,
// "Password":...,"Ttl":300}]}: one IceServer with the credential that
// Config.ICE (a *turnrest.Minter) mints for the ClientId, and its turn: and
// turns: URIs (boto3 adds ResponseMetadata on its side). Errors are
// restJson1: the status AWS uses, X-Amzn-ErrorType, and
// {"__type":"ResourceNotFoundException","message":"..."} (see APIError).
// Every answer carries the CORS headers AWS sends (Access-Control-Allow-Origin
// "*", Allow-Headers, Allow-Methods "GET,OPTIONS,POST", Expose-Headers) and
// an x-amzn-RequestId.
//
// # WebSocket
//
// A master connects with X-Amz-ChannelARN, a viewer with X-Amz-ClientId
// too; at most MaxViewers (10) viewers at once, one connection per client
// (a newer one replaces the older). A refusal comes before the upgrade as
// a REST error (400 InvalidArgumentException or ClientLimitExceededException,
// 403 AccessDeniedException, 404 ResourceNotFoundException). Clients send
//
//	{"action":"SDP_OFFER","recipientClientId":"v1","messagePayload":"<base64>","correlationId":"c1"}
//
// with keys in any case (the C SDK writes RecipientClientId, MessagePayload,
// CorrelationId), and receive
//
//	{"senderClientId":"v1","messageType":"SDP_OFFER","messagePayload":"<base64>"}
//
// A viewer's messages go to the master (a recipientClientId is ignored),
// and the master's to the viewer it names; the payload is passed on as
// sent. A message for a client that is not connected is kept for the
// channel's MessageTtlSeconds and delivered when it connects; a newer
// SDP_OFFER from the same sender replaces a kept one. A message refused,
// when it had a correlationId, is answered
//
//	{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c1",
//	 "errorType":"InvalidArgumentException","statusCode":"400","description":"...","success":false}}
//
// and otherwise dropped without a word, as AWS does. The server sends
// {"messageType":"GO_AWAY"} before it closes a connection (at shutdown,
// and after MaxConnDuration, 1 h) and closes it GoAwayGrace later with
// 1001; {"messageType":"RECONNECT_ICE_SERVER"} when told the ICE servers
// changed (Server.ReconnectICEServer). A connection on which the client
// sent nothing for IdleTimeout (10 min) is closed with 1001.
//
// # Authentication
//
// With Config.Credentials set, every REST call must carry a SigV4
// Authorization header and every WebSocket URL a SigV4 presigned query,
// for service kinesisvideo and any region, by one of the keys. The
// expected signature is computed by aws-sdk-go-v2's signer
// (aws/signer/v4) over exactly what the client signed: its SignedHeaders,
// X-Amz-Date, X-Amz-Expires and security token, the body's SHA-256. A
// signing time more than MaxClockSkew (5 min) from the server's clock, an
// expired presigned URL, an unknown key or a wrong signature is 403
// AccessDeniedException. Session tokens are signed over but not checked
// against an STS. Without credentials, requests are not checked (local
// development).
//
// # Limits
//
// Channel names, client ids and correlationIds are 1 to 256 of
// [a-zA-Z0-9_.-] (client ids not starting with AWS_); payloads are base64
// of at most MaxMessageBytes (64 KiB); a channel keeps at most
// MaxQueuedMessages (1,024) and MaxQueuedBytes (1 MiB) for absent clients,
// and a WebSocket's outbox as much (a client that does not read is
// dropped). Each WebSocket may send MessageRate (20) messages a second
// with bursts of MessageBurst (50); each IP address may hold MaxConnsPerIP
// (100) WebSockets. Every read and write has a deadline; WebSockets are
// pinged every PingInterval (25 s). Client strings reach logs through
// internal/logstr.
//
// # State across instances
//
// Channels, connections and kept messages live behind Store. MemoryStore
// keeps them in one process; a backplane implements the same methods
// across server instances (a Sink is the WebSocket on the instance that
// holds it).
//
// # Differences from AWS
//
//   - One endpoint for both roles and every channel (AWS gives each
//     channel m-/v-/r- hosts); region and account in ARNs are Config's.
//   - Only SINGLE_MASTER channels; no UpdateSignalingChannel, tags kept but
//     not listed (ListTagsForResource), no streams, no media storage
//     (the WEBRTC protocol, JoinStorageSession).
//   - A newer offer also drops the ICE candidates its sender queued after
//     the older offer (they belong to the older ICE session).
//   - Payloads may be 64 KiB, not 10 KB; one token bucket covers all
//     actions (AWS: 5 offers or answers and 20 candidates a second); the
//     3-connections-a-second quota per channel is not enforced.
//   - SendAlexaOfferToMaster holds a viewer seat for SenderClientId while
//     it waits for the answer (at most MessageTtlSeconds).
//   - GO_AWAY's grace is 2 s by default, not 1 min, to fit a 5 s shutdown.
//   - Three points of the format are inferred, not documented
//     (signaling.md §5.1): senderClientId left out on messages from the
//     master, the success field of statusResponse, the 60 s default TTL.
package kvs
