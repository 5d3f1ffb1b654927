import Contracts
import Testing

@testable import Workers

/// Every kind of the catalog is run by this build's Workers, or is on the list of kinds still
/// to be built (their jobs wait, and their status says no worker serves them).
@Suite struct RegistryTests {
    /// Kinds the catalog has whose handlers are not built yet.
    static let notYetBuilt: Set<JobKind> = [.standup, .ocipRelay]

    @Test func everyCatalogKindIsServedOrListedAsNotYetBuilt() {
        let catalog = Set(KindCatalog.contracts.map { $0.kind })
        let served = Set(Registry.kinds)
        #expect(served.isSubset(of: catalog))
        #expect(
            served.union(Self.notYetBuilt) == catalog,
            "kinds neither served nor listed: \(catalog.subtracting(served).subtracting(Self.notYetBuilt))")
        #expect(served.isDisjoint(with: Self.notYetBuilt), "a kind served now is still listed as not built")
    }
}
