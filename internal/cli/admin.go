package cli

// adminCommands are the children of `pairgate admin`. users works on the
// store of this host (it must work before any API key exists); the others
// speak to a running server over the admin API.
func adminCommands() []*command {
	return append([]*command{
		usersCommand(),
	}, apiCommands()...)
}
