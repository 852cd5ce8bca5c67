package io.apilb.core.proxy;

import io.apilb.core.config.HostPort;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Turns a backend's {@code host:port} into a socket address without ever blocking an event loop.
 * IP literals are parsed in place. Names are looked up by the JDK resolver on one daemon thread and
 * cached: an answer is refreshed in the background after {@code refresh} (so a master whose DNS
 * record moves is followed) and kept at most {@code expire}; a failed lookup is remembered for
 * {@code negative} only, so a dead name costs one lookup per few seconds, not one per connection.
 */
public final class BackendResolver implements AutoCloseable {
    private final Duration refresh;
    private final Duration expire;
    private final Duration negative;
    private ExecutorService lookups;
    private volatile AsyncLoadingCache<HostPort, Resolution> cache;

    /** A lookup's outcome: an address or the failure, cached alike. */
    private record Resolution(InetSocketAddress address, UnknownHostException failure) {
    }

    public BackendResolver(Duration refresh, Duration expire, Duration negative) {
        this.refresh = refresh;
        this.expire = expire;
        this.negative = negative;
    }

    /** Built on first use: a cluster given by IP addresses never needs the cache or its thread. */
    private AsyncLoadingCache<HostPort, Resolution> cache() {
        AsyncLoadingCache<HostPort, Resolution> c = cache;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (cache == null) {
                lookups = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "apilb-dns");
                    t.setDaemon(true);
                    return t;
                });
                cache = Caffeine.newBuilder()
                        .executor(lookups)
                        .refreshAfterWrite(refresh)
                        .expireAfter(Expiry.<HostPort, Resolution>writing((key, value) ->
                                value.failure() == null ? expire : negative))
                        .maximumSize(1024)
                        .buildAsync(BackendResolver::lookup);
            }
            return cache;
        }
    }

    public BackendResolver() {
        this(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofSeconds(5));
    }

    /**
     * The address to dial. Completes at once for literals and cached names; otherwise when the
     * lookup ends, on the resolver's thread (callers hop back to their event loop). Fails with
     * {@link UnknownHostException} when the name does not resolve.
     */
    public CompletableFuture<InetSocketAddress> resolve(HostPort target) {
        if (isLiteral(target.host())) {
            return CompletableFuture.completedFuture(literal(target));
        }
        return cache().get(target).thenCompose(r -> r.failure() == null
                ? CompletableFuture.completedFuture(r.address())
                : CompletableFuture.failedFuture(r.failure()));
    }

    static boolean isLiteral(String host) {
        return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    private static InetSocketAddress literal(HostPort target) {
        try {
            // getByName on a literal parses it; no lookup happens.
            return new InetSocketAddress(InetAddress.getByName(target.host()), target.port());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP literal: " + target.host(), e);
        }
    }

    private static Resolution lookup(HostPort target) {
        try {
            return new Resolution(new InetSocketAddress(InetAddress.getByName(target.host()), target.port()), null);
        } catch (UnknownHostException e) {
            return new Resolution(null, e);
        }
    }

    /** Unwraps the cache's wrapping of a failed lookup. */
    static Throwable unwrap(Throwable t) {
        return t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    @Override
    public synchronized void close() {
        if (lookups != null) {
            lookups.shutdownNow();
        }
    }
}
