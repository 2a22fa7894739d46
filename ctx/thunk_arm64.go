package ctx

// thunkSize is the size of one callback thunk: MOVD $i, R9 and B, one
// instruction each.
const thunkSize = 8
