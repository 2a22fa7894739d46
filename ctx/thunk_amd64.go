package ctx

// thunkSize is the size of one callback thunk: MOVL $i, R11 (6 bytes) and
// a JMP with a 32-bit displacement (5 bytes).
const thunkSize = 11
