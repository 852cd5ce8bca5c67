package io.apilb.app.ops;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A client that calls {@code GET /version} through the VIP again and again from the bridge
 * namespace, with curl, one fresh TLS connection per call as a restarting kubectl would make.
 * Bounded in calls and time; records when each call ended and whether it succeeded.
 */
final class ClientLoop implements AutoCloseable {
    /** One call: when it ended (System.nanoTime), whether it got 200, and from which master. */
    record Call(long endNanos, boolean ok, String servedBy, String detail) {
    }

    private static final Duration PACE = Duration.ofMillis(100);
    private final List<Call> calls = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stop;

    private ClientLoop(List<String> command, int maxCalls, Duration maxTime) {
        thread = new Thread(() -> run(command, maxCalls, maxTime), "vip-client");
        thread.setDaemon(true);
    }

    /** Starts calling {@code https://kubernetes:PORT/version} resolved to {@code vip}, inside {@code namespace}. */
    static ClientLoop start(String namespace, String vip, int port, Path caFile, int maxCalls, Duration maxTime) {
        List<String> command = List.of("ip", "netns", "exec", namespace, "curl", "-sS", "--max-time", "2",
                "--cacert", caFile.toString(), "--resolve", "kubernetes:" + port + ":" + vip,
                "-o", "/dev/null", "-w", "%{http_code} %header{x-served-by}",
                "https://kubernetes:" + port + "/version");
        ClientLoop loop = new ClientLoop(command, maxCalls, maxTime);
        loop.thread.start();
        return loop;
    }

    private void run(List<String> command, int maxCalls, Duration maxTime) {
        long deadline = System.nanoTime() + maxTime.toNanos();
        for (int i = 0; i < maxCalls && !stop && System.nanoTime() < deadline; i++) {
            Call call;
            try {
                Commands.Result r = Commands.run(Duration.ofSeconds(5), null, Map.of(), command.toArray(String[]::new));
                String out = r.output().strip();
                // Last line: "<status> <master>"; curl's own error message, if any, comes before it.
                String last = out.lines().reduce((a, b) -> b).orElse("");
                boolean ok = r.ok() && last.startsWith("200 ");
                call = new Call(System.nanoTime(), ok, ok ? last.substring(4).strip() : null, out);
            } catch (IllegalStateException e) {
                call = new Call(System.nanoTime(), false, null, e.getMessage());
            }
            synchronized (calls) {
                calls.add(call);
            }
            try {
                Thread.sleep(PACE.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    List<Call> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    long successesAfter(long nanos) {
        return calls().stream().filter(c -> c.ok() && c.endNanos() > nanos).count();
    }

    long failuresAfter(long nanos) {
        return calls().stream().filter(c -> !c.ok() && c.endNanos() > nanos).count();
    }

    Set<String> mastersSeen() {
        Set<String> names = new TreeSet<>();
        calls().stream().filter(Call::ok).forEach(c -> names.add(c.servedBy()));
        return names;
    }

    /**
     * The longest time without a successful call around {@code eventNanos}: from the last success
     * before it to the first success after {@code recoveredNanos}, measured between consecutive
     * successes.
     */
    Duration longestGap(long eventNanos, long recoveredNanos) {
        List<Call> ok = calls().stream().filter(Call::ok).toList();
        long longest = 0;
        Call previous = null;
        for (Call c : ok) {
            if (previous != null && c.endNanos() > eventNanos) {
                longest = Math.max(longest, c.endNanos() - previous.endNanos());
            }
            previous = c;
            if (c.endNanos() > recoveredNanos) {
                break;
            }
        }
        return Duration.ofNanos(longest);
    }

    /** The last failures' messages, for a failing assertion. */
    String recentFailures() {
        List<Call> all = calls();
        StringBuilder sb = new StringBuilder();
        all.stream().filter(c -> !c.ok()).skip(Math.max(0, all.stream().filter(c -> !c.ok()).count() - 3))
                .forEach(c -> sb.append("  ").append(c.detail()).append('\n'));
        return "client: " + all.size() + " calls, " + all.stream().filter(Call::ok).count() + " ok\n" + sb;
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.interrupt();
        thread.join(10_000);
    }
}
