package kvs

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The control plane (service kinesisvideo, restJson1; signaling.md §3.2).
// Inputs and outputs carry AWS's exact keys.

// Values of ChannelInfo and of GetSignalingChannelEndpoint's input.
const (
	channelTypeSingleMaster = "SINGLE_MASTER"
	channelStatusActive     = "ACTIVE"
	roleMaster              = "MASTER"
	roleViewer              = "VIEWER"
	protocolWSS             = "WSS"
	protocolHTTPS           = "HTTPS"
)

// Limits of CreateSignalingChannel's input (API reference).
const (
	minMessageTTL   = 5 * time.Second
	maxMessageTTL   = 120 * time.Second
	maxTags         = 50
	maxTagKeyLen    = 128
	maxTagValueLen  = 256
	maxListResults  = 10000
	versionLen      = 20
	versionAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// singleMasterConfiguration is SingleMasterConfiguration.
type singleMasterConfiguration struct {
	MessageTtlSeconds *int `json:"MessageTtlSeconds,omitempty"`
}

// tag is a Tag of CreateSignalingChannel.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// createInput is CreateSignalingChannelInput.
type createInput struct {
	ChannelName               string                     `json:"ChannelName"`
	ChannelType               string                     `json:"ChannelType"`
	SingleMasterConfiguration *singleMasterConfiguration `json:"SingleMasterConfiguration"`
	Tags                      []tag                      `json:"Tags"`
}

// createChannel answers CreateSignalingChannel:
//
//	{"ChannelName":"x","ChannelType":"SINGLE_MASTER","SingleMasterConfiguration":{"MessageTtlSeconds":60},"Tags":[...]}
//	→ {"ChannelARN":"arn:aws:kinesisvideo:..."}
func (s *Server) createChannel(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in createInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if !ValidName(in.ChannelName) {
		return nil, Errorf(ErrInvalidArgument, "ChannelName must be 1 to 256 characters of [a-zA-Z0-9_.-].")
	}
	if in.ChannelType != "" && in.ChannelType != channelTypeSingleMaster {
		return nil, Errorf(ErrInvalidArgument, "ChannelType must be SINGLE_MASTER.")
	}
	ttl := DefaultMessageTTL
	if c := in.SingleMasterConfiguration; c != nil && c.MessageTtlSeconds != nil {
		ttl = time.Duration(*c.MessageTtlSeconds) * time.Second
		if ttl < minMessageTTL || ttl > maxMessageTTL {
			return nil, Errorf(ErrInvalidArgument, "MessageTtlSeconds must be between 5 and 120.")
		}
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	version, err := s.newVersion()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().Truncate(time.Millisecond)
	ch := Channel{Name: in.ChannelName, ARN: channelARN(s.cfg.Region, s.cfg.AccountID, in.ChannelName, now),
		Created: now, MessageTTL: ttl, Version: version, Tags: tags}
	if err := s.store.CreateChannel(r.Context(), ch); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("kvs: channel created", "channel", ch.Name)
	return struct {
		ChannelARN string `json:"ChannelARN"`
	}{ch.ARN}, nil
}

// checkTags returns the tags as a map, or an error for more than 50 tags or
// a key or value out of its limits.
func checkTags(tags []tag) (map[string]string, error) {
	if len(tags) > maxTags {
		return nil, Errorf(ErrTagsPerResourceExceededLimit, "A channel may have at most %d tags.", maxTags)
	}
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > maxTagKeyLen || len(t.Value) > maxTagValueLen {
			return nil, Errorf(ErrInvalidArgument, "Tag keys must be 1 to 128 characters and values at most 256.")
		}
		m[t.Key] = t.Value
	}
	return m, nil
}

// newVersion returns a random channel version: 20 letters and digits, the
// shape of AWS's.
func (s *Server) newVersion() (string, error) {
	var b [versionLen]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = versionAlphabet[int(b[i])%len(versionAlphabet)]
	}
	return string(b[:]), nil
}

// channelInfo is ChannelInfo, keys in AWS's order.
type channelInfo struct {
	ChannelARN                string                    `json:"ChannelARN"`
	ChannelName               string                    `json:"ChannelName"`
	ChannelStatus             string                    `json:"ChannelStatus"`
	ChannelType               string                    `json:"ChannelType"`
	CreationTime              epochSeconds              `json:"CreationTime"`
	SingleMasterConfiguration singleMasterConfiguration `json:"SingleMasterConfiguration"`
	Version                   string                    `json:"Version"`
}

// epochSeconds is a timestamp as restJson1 writes one: seconds since the
// epoch as a JSON number, with milliseconds as a fraction.
type epochSeconds time.Time

// MarshalJSON implements json.Marshaler.
func (t epochSeconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64), nil
}

// info returns ch's ChannelInfo.
func info(ch Channel) channelInfo {
	ttl := int(ch.MessageTTL / time.Second)
	return channelInfo{ChannelARN: ch.ARN, ChannelName: ch.Name, ChannelStatus: channelStatusActive,
		ChannelType: channelTypeSingleMaster, CreationTime: epochSeconds(ch.Created),
		SingleMasterConfiguration: singleMasterConfiguration{MessageTtlSeconds: &ttl}, Version: ch.Version}
}

// channelRef is the ChannelName-or-ChannelARN of several inputs.
type channelRef struct {
	ChannelName string `json:"ChannelName"`
	ChannelARN  string `json:"ChannelARN"`
}

// lookup returns the channel named by ref: by ChannelARN when given (the
// ARN must be the channel's), else by ChannelName.
func (s *Server) lookup(r *http.Request, ref channelRef) (Channel, error) {
	if ref.ChannelARN != "" {
		return s.channelByARN(r, ref.ChannelARN)
	}
	if !ValidName(ref.ChannelName) {
		return Channel{}, Errorf(ErrInvalidArgument, "ChannelName or ChannelARN is required.")
	}
	return s.store.Channel(r.Context(), ref.ChannelName)
}

// channelByARN returns the channel whose ARN is arn.
func (s *Server) channelByARN(r *http.Request, arn string) (Channel, error) {
	name, ok := nameFromARN(arn)
	if !ok {
		return Channel{}, Errorf(ErrInvalidArgument, "ChannelARN is not the ARN of a signaling channel.")
	}
	ch, err := s.store.Channel(r.Context(), name)
	if err == nil && ch.ARN != arn {
		return Channel{}, Errorf(ErrResourceNotFound, "The requested channel is not found or not active.")
	}
	return ch, err
}

// describeChannel answers DescribeSignalingChannel:
//
//	{"ChannelName":"x"} or {"ChannelARN":"arn"} → {"ChannelInfo":{...}}
func (s *Server) describeChannel(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in channelRef
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ch, err := s.lookup(r, in)
	if err != nil {
		return nil, err
	}
	return struct {
		ChannelInfo channelInfo `json:"ChannelInfo"`
	}{info(ch)}, nil
}

// listInput is ListSignalingChannelsInput.
type listInput struct {
	ChannelNameCondition *struct {
		ComparisonOperator string `json:"ComparisonOperator"`
		ComparisonValue    string `json:"ComparisonValue"`
	} `json:"ChannelNameCondition"`
	MaxResults *int   `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

// listOutput is ListSignalingChannelsOutput.
type listOutput struct {
	ChannelInfoList []channelInfo `json:"ChannelInfoList"`
	NextToken       string        `json:"NextToken,omitempty"`
}

// listChannels answers ListSignalingChannels: channels sorted by name,
// filtered by a BEGINS_WITH ChannelNameCondition, MaxResults (1 to 10,000)
// a page, NextToken (the last name of the page, base64url) for the next.
func (s *Server) listChannels(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in listInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	max := maxListResults
	if in.MaxResults != nil {
		if max = *in.MaxResults; max < 1 || max > maxListResults {
			return nil, Errorf(ErrInvalidArgument, "MaxResults must be between 1 and 10000.")
		}
	}
	prefix := ""
	if c := in.ChannelNameCondition; c != nil {
		if (c.ComparisonOperator != "" && c.ComparisonOperator != "BEGINS_WITH") || len(c.ComparisonValue) > MaxNameLen {
			return nil, Errorf(ErrInvalidArgument, "ChannelNameCondition takes BEGINS_WITH and a value of at most 256 characters.")
		}
		prefix = c.ComparisonValue
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || !ValidName(string(b)) {
			return nil, Errorf(ErrInvalidArgument, "NextToken is not one this server gave.")
		}
		after = string(b)
	}
	chs, err := s.store.ListChannels(r.Context(), prefix, after, max+1)
	if err != nil {
		return nil, err
	}
	out := listOutput{ChannelInfoList: []channelInfo{}}
	if len(chs) > max {
		chs = chs[:max]
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(chs[max-1].Name))
	}
	for _, ch := range chs {
		out.ChannelInfoList = append(out.ChannelInfoList, info(ch))
	}
	return out, nil
}

// deleteChannel answers DeleteSignalingChannel:
//
//	{"ChannelARN":"arn","CurrentVersion":"v"} → {}
//
// The channel's WebSockets are closed and its kept messages dropped.
func (s *Server) deleteChannel(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in struct {
		ChannelARN     string `json:"ChannelARN"`
		CurrentVersion string `json:"CurrentVersion"`
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ch, err := s.channelByARN(r, in.ChannelARN)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteChannel(r.Context(), ch.Name, in.CurrentVersion); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("kvs: channel deleted", "channel", ch.Name)
	return struct{}{}, nil
}

// endpointInput is GetSignalingChannelEndpointInput.
type endpointInput struct {
	ChannelARN                               string `json:"ChannelARN"`
	SingleMasterChannelEndpointConfiguration *struct {
		Protocols []string `json:"Protocols"`
		Role      string   `json:"Role"`
	} `json:"SingleMasterChannelEndpointConfiguration"`
}

// resourceEndpoint is a ResourceEndpointListItem.
type resourceEndpoint struct {
	Protocol         string `json:"Protocol"`
	ResourceEndpoint string `json:"ResourceEndpoint"`
}

// getEndpoint answers GetSignalingChannelEndpoint with this server's
// endpoints, for either role:
//
//	{"ResourceEndpointList":[{"Protocol":"WSS","ResourceEndpoint":"wss://host/kvs/ws"},
//	                         {"Protocol":"HTTPS","ResourceEndpoint":"https://host/kvs"}]}
//
// in the order of the requested Protocols (default WSS, HTTPS). WEBRTC
// (media ingestion) is not served.
func (s *Server) getEndpoint(_ http.ResponseWriter, r *http.Request, body []byte) (any, error) {
	var in endpointInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.channelByARN(r, in.ChannelARN); err != nil {
		return nil, err
	}
	protocols := []string{protocolWSS, protocolHTTPS}
	if c := in.SingleMasterChannelEndpointConfiguration; c != nil {
		if c.Role != "" && c.Role != roleMaster && c.Role != roleViewer {
			return nil, Errorf(ErrInvalidArgument, "Role must be MASTER or VIEWER.")
		}
		if len(c.Protocols) > 0 {
			protocols = c.Protocols
		}
	}
	host := s.publicHost(r)
	list := make([]resourceEndpoint, 0, len(protocols))
	for _, p := range protocols {
		switch p {
		case protocolWSS:
			list = append(list, resourceEndpoint{protocolWSS, "wss://" + host + s.cfg.Prefix + wsPath})
		case protocolHTTPS:
			list = append(list, resourceEndpoint{protocolHTTPS, "https://" + host + s.cfg.Prefix})
		default:
			return nil, Errorf(ErrInvalidArgument, "Protocols may be WSS and HTTPS; %.16q is not served.", p)
		}
	}
	return struct {
		ResourceEndpointList []resourceEndpoint `json:"ResourceEndpointList"`
	}{list}, nil
}

// publicHost is the host of the endpoints: PublicURL's, else the
// request's.
func (s *Server) publicHost(r *http.Request) string {
	if s.publicHostport != "" {
		return s.publicHostport
	}
	return r.Host
}
