"""The portal: server-rendered pages over intake's and query's APIs, with the signed-in user's token."""
