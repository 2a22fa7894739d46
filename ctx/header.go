package ctx

import _ "embed" // for Header

// Header is the text of corokernel.h, the C declarations of the ck_api
// table and struct ck_coroutine that bodies include. Programs that build C
// code at run time (package cdemo does) write it next to their sources.
//
//go:embed corokernel.h
var Header string
