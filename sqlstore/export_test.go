package sqlstore

// SetPruneBatch sets the batch size of PruneDeliveries until the returned
// function restores it.
func SetPruneBatch(n int) (restore func()) {
	old := pruneBatch
	pruneBatch = n
	return func() { pruneBatch = old }
}
