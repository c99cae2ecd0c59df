import Testing
@testable import Engine

struct WritableLayerEntryTests {
    /// The guest's list and the host's walk give the same kinds: placeholders and the directories made
    /// only to hold them are no change, a whiteout is a deletion, a path in the image a change.
    @Test func aGuestsListBecomesDockersChanges() {
        let listed = Array("d 1 etc\0e 1 etc/hosts\0e 0 etc/hostname\0w 1 gone\0d 0 new\0f 0 new/file\0f 1 edited\0o 0 fifo\0".utf8)
        let entries = WritableLayerEntry.parseGuestList(listed + Array("x 0 bad\0f 0 \0".utf8))
        #expect(entries.count == 8 && entries[3] == WritableLayerEntry(path: "/gone", kind: .whiteout, inImage: true))
        let changes = ContainerService.changes(entries).map { "\($0.kind) \($0.path)" }
        #expect(changes == ["1 /fifo", "0 /edited", "2 /gone", "1 /new", "1 /new/file"].sorted { $0.dropFirst(2) < $1.dropFirst(2) })
    }
}
