import Engine
import Foundation
import Testing

@Suite struct EventBusTests {
    func event(_ type: String, _ action: String, id: String = "abc123", attributes: [String: String] = [:]) -> EngineEvent {
        EngineEvent(type: type, action: action, actorID: id, attributes: attributes)
    }

    @Test func liveSubscribersGetMatchingEventsInOrder() async throws {
        let bus = EventBus()
        let stream = await bus.subscribe(filter: try EventFilter(["type": ["container"]]), since: nil, until: nil)
        await bus.publish(event("container", "create"))
        await bus.publish(event("daemon", "reload"))
        await bus.publish(event("container", "start"))
        var received: [String] = []
        for await item in stream {
            received.append(item.action)
            if received.count == 2 { break }
        }
        #expect(received == ["create", "start"])
    }

    @Test func sinceReplaysAndPastUntilEndsTheStream() async throws {
        let bus = EventBus()
        let first = await bus.publish(event("image", "pull"))
        let second = await bus.publish(event("image", "tag"))
        #expect(second.timeNano > first.timeNano)
        let stream = await bus.subscribe(filter: try EventFilter(), since: second.timeNano, until: second.timeNano)
        var actions: [String] = []
        for await item in stream { actions.append(item.action) }
        #expect(actions == ["tag"])
        #expect(await bus.subscriberCount == 0)
    }

    @Test func futureUntilEndsTheStreamWhenItPasses() async throws {
        let bus = EventBus()
        let until = Int64(Date().timeIntervalSince1970 * 1e9) + 200_000_000
        let stream = await bus.subscribe(filter: try EventFilter(), since: nil, until: until)
        await bus.publish(event("daemon", "reload"))
        var count = 0
        for await _ in stream { count += 1 }
        #expect(count == 1)
    }

    @Test func finishAllEndsStreams() async throws {
        let bus = EventBus()
        let stream = await bus.subscribe(filter: try EventFilter(), since: nil, until: nil)
        await bus.finishAll()
        var count = 0
        for await _ in stream { count += 1 }
        #expect(count == 0)
    }
}

@Suite struct EventFilterTests {
    @Test func matchesByTypeActionActorAndLabel() throws {
        let container = EngineEvent(type: "container", action: "exec_start: sh -c true", actorID: "0123456789ab",
                                    attributes: ["name": "web", "com.example.tier": "front"])
        #expect(try EventFilter(["event": ["exec_start"]]).matches(container))
        #expect(try EventFilter(["container": ["web"]]).matches(container))
        #expect(try EventFilter(["container": ["0123"]]).matches(container))
        #expect(try !EventFilter(["container": ["db"]]).matches(container))
        #expect(try EventFilter(["label": ["com.example.tier=front"]]).matches(container))
        #expect(try EventFilter(["label": ["com.example.tier"]]).matches(container))
        #expect(try !EventFilter(["label": ["com.example.tier=back"]]).matches(container))
        #expect(try EventFilter(["type": ["image", "container"], "event": ["exec_start"]]).matches(container))
        #expect(try !EventFilter(["type": ["image"]]).matches(container))
        #expect(try !EventFilter(["image": ["web"]]).matches(container))
    }

    @Test func unknownKeysAndTypesAreRefused() {
        #expect(throws: EventFilterError.unknownKey("colour")) { try EventFilter(["colour": ["blue"]]) }
        #expect(throws: EventFilterError.unknownType("pod")) { try EventFilter(["type": ["pod"]]) }
    }
}
