package io.apilb.admin;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;

import java.util.List;

/**
 * Keeps the Prometheus exposition clean for {@code promtool check metrics}, which a scrape config
 * review or CI may run: third-party meters that break its rules are described or left out.
 * <ul>
 *   <li>Netty's allocator meters carry no description: each gets one (no HELP text is a lint error);</li>
 *   <li>{@code process.cpu.time} is in nanoseconds ({@code _ns_total}: abbreviated unit) and
 *       {@code system.cpu.count} ends in {@code _count} like a summary: both are dropped, since
 *       {@code process_cpu_usage} and {@code system_cpu_usage} say what operators need.</li>
 * </ul>
 * Must be installed before any meter is registered (Micrometer applies filters at registration).
 */
final class ExpositionFilters {
    private static final String NETTY_ALLOCATOR = "netty.allocator.";

    private ExpositionFilters() {
    }

    static List<MeterFilter> all() {
        return List.of(
                MeterFilter.denyNameStartsWith("process.cpu.time"),
                MeterFilter.denyNameStartsWith("system.cpu.count"),
                new MeterFilter() {
                    @Override
                    public Meter.Id map(Meter.Id id) {
                        if (id.getDescription() != null || !id.getName().startsWith(NETTY_ALLOCATOR)) {
                            return id;
                        }
                        return new Meter.Id(id.getName(), Tags.of(id.getTagsAsIterable()), id.getBaseUnit(),
                                describeNetty(id.getName()), id.getType());
                    }
                });
    }

    private static String describeNetty(String name) {
        return switch (name) {
            case "netty.allocator.memory.used" -> "Memory held by the Netty buffer allocator";
            case "netty.allocator.memory.pinned" -> "Memory of the Netty buffer allocator in use by live buffers";
            case "netty.allocator.pooled.arenas" -> "Arenas of the pooled Netty buffer allocator";
            case "netty.allocator.pooled.cache.size" -> "Thread-local cache size of the pooled Netty allocator";
            case "netty.allocator.pooled.threadlocal.caches" -> "Thread-local caches of the pooled Netty allocator";
            case "netty.allocator.pooled.chunk.size" -> "Chunk size of the pooled Netty allocator";
            default -> "Netty buffer allocator statistic " + name.substring(NETTY_ALLOCATOR.length());
        };
    }
}
