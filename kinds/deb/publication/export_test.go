package publication

// Bucket exports bucket to the tests.
var Bucket = bucket
