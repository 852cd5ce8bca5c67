package io.apilb.core.config;

import io.netty.util.NetUtil;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * A block of IPv4 or IPv6 addresses written as {@code 10.0.0.0/8} or {@code fd00::/8}; a bare
 * address is a block of one ({@code /32}, {@code /128}). Host bits below the prefix are cleared,
 * as routers and HAProxy read them, so {@code 10.1.2.3/8} is {@code 10.0.0.0/8}. An IPv4-mapped
 * IPv6 client ({@code ::ffff:10.1.2.3}) matches IPv4 blocks. Immutable.
 */
public record Cidr(InetAddress network, int prefix) {
    static final String EXPECTED = "an IP address or CIDR such as 10.0.0.0/8 or fd00::/8";

    public Cidr {
        Objects.requireNonNull(network, "network");
        int max = network.getAddress().length * 8;
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("prefix: " + prefix + " (expected: 0-" + max + ")");
        }
        network = masked(network.getAddress(), prefix);
    }

    /** Reads {@code address} or {@code address/prefix} without any name lookup. */
    public static Cidr parse(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(slash < 0 ? t : t.substring(0, slash));
        if (bytes == null) {
            throw ValueType.wrong(ValueType.quote(text), EXPECTED);
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            String p = t.substring(slash + 1);
            if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > max) {
                throw ValueType.wrong(t, EXPECTED + ", prefix 0-" + max);
            }
            prefix = Integer.parseInt(p);
        }
        if (bytes.length == 16 && isMapped(bytes)) {
            // ::ffff:a.b.c.d is how a dual-stack socket shows an IPv4 client: keep it an IPv4 block.
            if (prefix < 96) {
                throw ValueType.wrong(t, EXPECTED + ", an IPv4-mapped block no wider than /96");
            }
            return new Cidr(address(new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]}), prefix - 96);
        }
        return new Cidr(address(bytes), prefix);
    }

    /** True when {@code address} lies in this block. */
    public boolean contains(InetAddress address) {
        byte[] a = unmapped(address).getAddress();
        byte[] n = network.getAddress();
        if (a.length != n.length) {
            return false;
        }
        int whole = prefix / 8;
        for (int i = 0; i < whole; i++) {
            if (a[i] != n[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        int mask = (0xff00 >>> rest) & 0xff;
        return rest == 0 || (a[whole] & mask) == (n[whole] & mask);
    }

    /**
     * {@code address}, or for an IPv4-mapped IPv6 address the IPv4 address it carries: a
     * dual-stack listener sees IPv4 clients that way, and they are the same client.
     */
    public static InetAddress unmapped(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address;
        }
        byte[] b = address.getAddress();
        return isMapped(b) ? address(new byte[] {b[12], b[13], b[14], b[15]}) : address;
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    /** {@code bytes} with every bit from {@code prefix} on cleared, as an address without scope. */
    public static InetAddress masked(byte[] bytes, int prefix) {
        byte[] b = bytes.clone();
        for (int bit = prefix; bit < b.length * 8; bit++) {
            b[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return address(b);
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("address of " + bytes.length + " bytes (expected: 4 or 16)", e);
        }
    }

    @Override
    public String toString() {
        return NetUtil.toAddressString(network) + "/" + prefix;
    }
}
