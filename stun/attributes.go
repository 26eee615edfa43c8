package stun

import "fmt"

// AttrType is a STUN attribute type (RFC 8489 §14, §18.3).
type AttrType uint16

// Attributes of RFC 8489 §14 (which obsoletes RFC 5389 §15).
const (
	AttrMappedAddress          AttrType = 0x0001 // §14.1
	AttrUsername               AttrType = 0x0006 // §14.3
	AttrMessageIntegrity       AttrType = 0x0008 // §14.5
	AttrErrorCode              AttrType = 0x0009 // §14.8
	AttrUnknownAttributes      AttrType = 0x000A // §14.13
	AttrRealm                  AttrType = 0x0014 // §14.9
	AttrNonce                  AttrType = 0x0015 // §14.10
	AttrMessageIntegritySHA256 AttrType = 0x001C // §14.6
	AttrPasswordAlgorithm      AttrType = 0x001D // §14.12
	AttrUserhash               AttrType = 0x001E // §14.4
	AttrXORMappedAddress       AttrType = 0x0020 // §14.2
	AttrPasswordAlgorithms     AttrType = 0x8002 // §14.11
	AttrAlternateDomain        AttrType = 0x8003 // §14.16
	AttrSoftware               AttrType = 0x8022 // §14.14
	AttrAlternateServer        AttrType = 0x8023 // §14.15
	AttrFingerprint            AttrType = 0x8028 // §14.7
)

// Attributes of ICE (RFC 8445 §16.1).
const (
	AttrPriority       AttrType = 0x0024
	AttrUseCandidate   AttrType = 0x0025
	AttrICEControlled  AttrType = 0x8029
	AttrICEControlling AttrType = 0x802A
)

// Attributes of TURN (RFC 8656 §18). This package gives them names only; a
// TURN implementation passes them to Message.AppendUnknown as known.
const (
	AttrChannelNumber          AttrType = 0x000C
	AttrLifetime               AttrType = 0x000D
	AttrXORPeerAddress         AttrType = 0x0012
	AttrData                   AttrType = 0x0013
	AttrXORRelayedAddress      AttrType = 0x0016
	AttrRequestedAddressFamily AttrType = 0x0017
	AttrEvenPort               AttrType = 0x0018
	AttrRequestedTransport     AttrType = 0x0019
	AttrDontFragment           AttrType = 0x001A
	AttrReservationToken       AttrType = 0x0022
)

// Chromium's comprehension-optional ICE attributes (WebRTC
// api/transport/stun.h); not registered with IANA.
const (
	// AttrGoogNetworkInfo carries the sender's network id (high 16 bits) and
	// network cost (low 16 bits).
	AttrGoogNetworkInfo AttrType = 0xC057
	// AttrGoogLastICECheckReceived carries the transaction ID of the last
	// check received.
	AttrGoogLastICECheckReceived AttrType = 0xC058
	// AttrGoogMiscInfo is a list of uint16 values; index 0 is the GOOG-PING
	// version the sender supports.
	AttrGoogMiscInfo AttrType = 0xC059
	// AttrGoogDelta and AttrGoogDeltaAck carry ICE delta information.
	AttrGoogDelta    AttrType = 0xC05C
	AttrGoogDeltaAck AttrType = 0xC05D
	// AttrGoogMessageIntegrity32 is MESSAGE-INTEGRITY truncated to 4 bytes,
	// used by GOOG-PING.
	AttrGoogMessageIntegrity32 AttrType = 0xC060
)

// Required reports whether t is in the comprehension-required range
// 0x0000-0x7FFF (RFC 8489 §14): a receiver that does not understand it must
// reject the message.
func (t AttrType) Required() bool { return t < 0x8000 }

// Known reports whether this package decodes attributes of type t
// (the attributes of RFC 8489 and ICE, and Chromium's GOOG-* ones).
func (t AttrType) Known() bool {
	switch t {
	case AttrMappedAddress, AttrUsername, AttrMessageIntegrity, AttrErrorCode,
		AttrUnknownAttributes, AttrRealm, AttrNonce, AttrMessageIntegritySHA256,
		AttrPasswordAlgorithm, AttrUserhash, AttrXORMappedAddress,
		AttrPasswordAlgorithms, AttrAlternateDomain, AttrSoftware,
		AttrAlternateServer, AttrFingerprint,
		AttrPriority, AttrUseCandidate, AttrICEControlled, AttrICEControlling,
		AttrGoogNetworkInfo, AttrGoogLastICECheckReceived, AttrGoogMiscInfo,
		AttrGoogDelta, AttrGoogDeltaAck, AttrGoogMessageIntegrity32:
		return true
	}
	return false
}

var attrNames = map[AttrType]string{
	AttrMappedAddress:            "MAPPED-ADDRESS",
	AttrUsername:                 "USERNAME",
	AttrMessageIntegrity:         "MESSAGE-INTEGRITY",
	AttrErrorCode:                "ERROR-CODE",
	AttrUnknownAttributes:        "UNKNOWN-ATTRIBUTES",
	AttrRealm:                    "REALM",
	AttrNonce:                    "NONCE",
	AttrMessageIntegritySHA256:   "MESSAGE-INTEGRITY-SHA256",
	AttrPasswordAlgorithm:        "PASSWORD-ALGORITHM",
	AttrUserhash:                 "USERHASH",
	AttrXORMappedAddress:         "XOR-MAPPED-ADDRESS",
	AttrPasswordAlgorithms:       "PASSWORD-ALGORITHMS",
	AttrAlternateDomain:          "ALTERNATE-DOMAIN",
	AttrSoftware:                 "SOFTWARE",
	AttrAlternateServer:          "ALTERNATE-SERVER",
	AttrFingerprint:              "FINGERPRINT",
	AttrPriority:                 "PRIORITY",
	AttrUseCandidate:             "USE-CANDIDATE",
	AttrICEControlled:            "ICE-CONTROLLED",
	AttrICEControlling:           "ICE-CONTROLLING",
	AttrChannelNumber:            "CHANNEL-NUMBER",
	AttrLifetime:                 "LIFETIME",
	AttrXORPeerAddress:           "XOR-PEER-ADDRESS",
	AttrData:                     "DATA",
	AttrXORRelayedAddress:        "XOR-RELAYED-ADDRESS",
	AttrRequestedAddressFamily:   "REQUESTED-ADDRESS-FAMILY",
	AttrEvenPort:                 "EVEN-PORT",
	AttrRequestedTransport:       "REQUESTED-TRANSPORT",
	AttrDontFragment:             "DONT-FRAGMENT",
	AttrReservationToken:         "RESERVATION-TOKEN",
	AttrGoogNetworkInfo:          "GOOG-NETWORK-INFO",
	AttrGoogLastICECheckReceived: "GOOG-LAST-ICE-CHECK-RECEIVED",
	AttrGoogMiscInfo:             "GOOG-MISC-INFO",
	AttrGoogDelta:                "GOOG-DELTA",
	AttrGoogDeltaAck:             "GOOG-DELTA-ACK",
	AttrGoogMessageIntegrity32:   "GOOG-MESSAGE-INTEGRITY-32",
}

// String returns the attribute's RFC name, or its number in hex.
func (t AttrType) String() string {
	if s, ok := attrNames[t]; ok {
		return s
	}
	return fmt.Sprintf("0x%04X", uint16(t))
}
