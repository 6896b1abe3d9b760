// The domain model (`DomainBackend`, `DomainStatus`, `DomainKey`...) lives in Management; re-exported
// so code that imports the daemon module (its tests) sees it as before.
@_exported import Management
