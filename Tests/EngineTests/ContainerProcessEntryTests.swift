import Testing
@testable import Engine

struct ContainerProcessEntryTests {
    /// A command name may hold spaces and parentheses; the fields after its last ")" still count.
    @Test func aStatLineIsReadPastItsCommandName() throws {
        let stat = "4242 (we (ird) name) S 17 4242 4242 0 -1 4194560 300 0 0 0 250 125 0 0 20 0 1 0 900 1000 100"
        let entry = try #require(ContainerProcessEntry(stat: stat, uid: 1000, command: "we (ird) name --flag"))
        #expect(entry == ContainerProcessEntry(uid: 1000, pid: 4242, parentPID: 17, cpuTicks: 375, command: "we (ird) name --flag"))
        #expect(ContainerProcessEntry(stat: "12 (cut) S 1 2", uid: 0, command: "") == nil)
    }

    /// The guest agent's `processes` lines: "UID STAT", a tab, the command line; a kernel thread's is empty.
    @Test func theGuestsListGivesOneEntryPerLine() {
        let listed = "0 1 (sleep) S 0 1 1 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 1 0 50 1 1\tsleep 300\n"
            + "65534 7 (sh) S 1 7 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 60 1 1\t\n"
            + "garbage line\n"
        #expect(ContainerProcessEntry.parseGuestList(listed) == [
            ContainerProcessEntry(uid: 0, pid: 1, parentPID: 0, cpuTicks: 7, command: "sleep 300"),
            ContainerProcessEntry(uid: 65534, pid: 7, parentPID: 1, cpuTicks: 0, command: ""),
        ])
    }
}
