package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/turnrest"
)

func TestRunPrintsVerifiableCredential(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out, "S", "U", ":", time.Hour, []string{"turn:127.0.0.1:3478"}, false))
	var c turnrest.Credential
	require.NoError(t, json.Unmarshal(out.Bytes(), &c))
	assert.True(t, strings.HasSuffix(c.Username, ":U"))
	assert.Equal(t, int64(3600), c.TTL)
	assert.Equal(t, []string{"turn:127.0.0.1:3478"}, c.URIs)
	m, err := turnrest.New(turnrest.Config{Secrets: []string{"S"}})
	require.NoError(t, err)
	_, err = m.Verify(c.Username, c.Password)
	assert.NoError(t, err)
	assert.NotContains(t, out.String(), `"S"`)
}

func TestRunICEShape(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out, "S", "", ":", time.Hour, []string{"turn:127.0.0.1:3478"}, true))
	var ic turnrest.ICEConfig
	require.NoError(t, json.Unmarshal(out.Bytes(), &ic))
	require.Len(t, ic.ICEServers, 1)
	assert.NotEmpty(t, ic.ICEServers[0].Credential)
}

func TestRunErrors(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run(&out, "", "U", ":", time.Hour, nil, false))
	assert.ErrorIs(t, run(&out, "S", "a:b", ":", time.Hour, nil, false), turnrest.ErrBadUser)
	assert.ErrorIs(t, run(&out, "S", "U", ":", time.Hour, []string{"http://x"}, false), turnrest.ErrBadConfig)
	assert.Empty(t, out.String())
}
