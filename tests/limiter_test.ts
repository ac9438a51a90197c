import { Limiter, QueueFullError } from "../src/server/limiter.ts";
import { assertEquals, assertRejects, assertThrows } from "./assert.ts";

Deno.test("limiter: runs up to its concurrency, queues in order, refuses beyond the queue", async () => {
  const limiter = new Limiter(2, 2);
  const first = await limiter.acquire();
  const second = await limiter.acquire();
  const order: number[] = [];
  const third = limiter.acquire().then((release) => (order.push(3), release));
  const fourth = limiter.acquire().then((release) => (order.push(4), release));
  assertEquals([limiter.inFlight, limiter.queued], [2, 2]);
  assertThrows(() => limiter.acquire(), QueueFullError);
  first();
  first(); // a second call gives nothing back twice
  (await third)();
  second();
  (await fourth)();
  assertEquals(order, [3, 4]);
  assertEquals([limiter.inFlight, limiter.queued], [0, 0]);
});

Deno.test("limiter: a waiter that aborts leaves the queue and never gets the slot", async () => {
  const limiter = new Limiter(1, 3);
  const held = await limiter.acquire();
  const controller = new AbortController();
  const gone = limiter.acquire(controller.signal);
  const next = limiter.acquire();
  controller.abort(new Error("client left"));
  await assertRejects(() => gone, /client left/);
  assertEquals(limiter.queued, 1);
  held();
  (await next)();
  assertEquals(limiter.inFlight, 0);
  assertThrows(() => limiter.acquire(AbortSignal.abort()));
  // No queue: the slot is taken at once, the next caller is refused at once.
  const unqueued = new Limiter(1, 0);
  const only = await unqueued.acquire();
  assertThrows(() => unqueued.acquire(), QueueFullError);
  only();
  (await unqueued.acquire())();
  assertThrows(() => new Limiter(0, 1), RangeError);
});
