package io.apilb.core.resource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.backend.ConnectFailure;

import io.netty.channel.ChannelException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.stream.Stream;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which errors are apilb's own shortage, as the JDK's NIO and Netty's native transports report them. */
class LocalResourceErrorTest {

    static Stream<Arguments> nio() {
        return Stream.of(
                // NIO socket creation under RLIMIT_NOFILE, wrapped as Netty's bootstrap wraps it.
                Arguments.of(
                        new ChannelException("Failed to open a socket.", new SocketException("Too many open files")),
                        LocalResourceError.EMFILE, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(new IOException("Too many open files"), LocalResourceError.EMFILE,
                        ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(new IOException("Too many open files in system"), LocalResourceError.ENFILE,
                        ConnectFailure.LOCAL_RESOURCE),
                // NIO connect with no local port left: a BindException, annotated by Netty with the target.
                Arguments.of(annotated(new BindException("Cannot assign requested address")),
                        LocalResourceError.EADDRNOTAVAIL, ConnectFailure.LOCAL_RESOURCE),
                // Epoll's connect reports errno as a ConnectException message.
                Arguments.of(new ConnectException("connect(..) failed: Cannot assign requested address"),
                        LocalResourceError.EADDRNOTAVAIL, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(new SocketException("No buffer space available (maximum connections reached?)"),
                        LocalResourceError.ENOBUFS, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(new IOException("Cannot allocate memory"), LocalResourceError.ENOMEM,
                        ConnectFailure.LOCAL_RESOURCE),
                // Failures of the backend or the path to it: never local.
                Arguments.of(new ConnectException("Connection refused"), null, ConnectFailure.CONNECT_REFUSED),
                Arguments.of(new ConnectTimeoutException("connection timed out after 2000 ms"), null,
                        ConnectFailure.CONNECT_TIMEOUT),
                Arguments.of(new UnknownHostException("m1.example"), null, ConnectFailure.DNS),
                Arguments.of(new NoRouteToHostException("No route to host"), null, ConnectFailure.CONNECT_ERROR),
                Arguments.of(new SSLHandshakeException("Received fatal alert: handshake_failure"), null,
                        ConnectFailure.CONNECT_ERROR),
                Arguments.of(new IOException((String) null), null, ConnectFailure.CONNECT_ERROR));
    }

    @ParameterizedTest
    @MethodSource("nio")
    void classifiesJdkExceptionsByTheirMessage(Throwable cause, LocalResourceError kind, ConnectFailure failure) {
        assertEquals(kind, LocalResourceError.of(cause));
        assertEquals(failure, ConnectFailure.of(cause));
    }

    static Stream<Arguments> natives() {
        return Stream.of(
                Arguments.of(24, LocalResourceError.EMFILE, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(23, LocalResourceError.ENFILE, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(99, LocalResourceError.EADDRNOTAVAIL, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(105, LocalResourceError.ENOBUFS, ConnectFailure.LOCAL_RESOURCE),
                Arguments.of(12, LocalResourceError.ENOMEM, ConnectFailure.LOCAL_RESOURCE),
                // ECONNREFUSED, ENETUNREACH, ECONNRESET: the peer or the path.
                Arguments.of(111, null, ConnectFailure.CONNECT_REFUSED),
                Arguments.of(101, null, ConnectFailure.CONNECT_ERROR),
                Arguments.of(104, null, ConnectFailure.CONNECT_ERROR));
    }

    @ParameterizedTest
    @MethodSource("natives")
    void classifiesNativeExceptionsByTheirErrno(int errno, LocalResourceError kind, ConnectFailure failure) {
        assumeTrue(Epoll.isAvailable(), "the native transport does not load here");
        // As epoll's socket creation throws it: errno negative, wrapped in a ChannelException.
        Throwable cause = new ChannelException(new Errors.NativeIoException("newSocketStream", -errno));
        assertEquals(kind, LocalResourceError.of(cause));
        if (errno == 111) {
            // Epoll's connect reports ECONNREFUSED as a ConnectException, which is what is classified as refused.
            cause = new ConnectException(cause.getCause().getMessage());
        }
        assertEquals(failure, ConnectFailure.of(cause));
    }

    /** As Netty annotates a failed NIO connect with its target. */
    private static SocketException annotated(SocketException cause) {
        SocketException e = new SocketException(cause.getMessage() + ": /127.0.0.1:6443");
        e.initCause(cause);
        return e;
    }
}
