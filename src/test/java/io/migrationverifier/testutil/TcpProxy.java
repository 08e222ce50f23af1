package io.migrationverifier.testutil;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP forwarder on 127.0.0.1 in front of a database, to take the database "down" for one client
 * and bring it back without touching the server: {@link #cut()} closes every forwarded connection
 * and stops listening (new connections are refused, as by a stopped server); {@link #restore()}
 * listens again on the same port.
 */
public final class TcpProxy implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  private final int targetPort;
  private final int port;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicLong accepted = new AtomicLong();
  private volatile ServerSocket server;

  /** Forwards a free local port to {@code 127.0.0.1:targetPort}. */
  public TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    ServerSocket s = listen(0);
    this.port = s.getLocalPort();
    start(s);
  }

  /** The port clients connect to. */
  public int port() {
    return port;
  }

  /** Connections accepted so far. */
  public long accepted() {
    return accepted.get();
  }

  public boolean isUp() {
    return server != null;
  }

  /** Closes every open connection and stops listening: connects are refused until {@link #restore()}. */
  public synchronized void cut() throws IOException {
    ServerSocket s = server;
    server = null;
    if (s != null) {
      s.close();
    }
    for (Socket sock : open) {
      closeQuietly(sock);
    }
    open.clear();
    LOG.info("proxy :{} -> :{} cut", port, targetPort);
  }

  /** Listens again on the same port. */
  public synchronized void restore() throws IOException {
    if (server != null) {
      return;
    }
    IOException last = null;
    // the old listening socket may linger for a moment; the port is ours, so retry briefly
    for (int i = 0; i < 50; i++) {
      try {
        start(listen(port));
        LOG.info("proxy :{} -> :{} restored", port, targetPort);
        return;
      } catch (IOException e) {
        last = e;
        try {
          Thread.sleep(100);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    throw new IOException("cannot listen on 127.0.0.1:" + port + " again", last);
  }

  private static ServerSocket listen(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(LOOPBACK, port), 50);
    return s;
  }

  private void start(ServerSocket s) {
    server = s;
    Thread t = new Thread(() -> acceptLoop(s), "tcp-proxy-" + port);
    t.setDaemon(true);
    t.start();
  }

  private void acceptLoop(ServerSocket s) {
    while (!s.isClosed()) {
      Socket client;
      try {
        client = s.accept();
      } catch (IOException e) {
        return; // closed by cut() or close()
      }
      accepted.incrementAndGet();
      Socket upstream;
      try {
        upstream = new Socket(LOOPBACK, targetPort);
      } catch (IOException e) {
        closeQuietly(client);
        continue;
      }
      synchronized (this) {
        if (server != s) { // cut while connecting
          closeQuietly(client);
          closeQuietly(upstream);
          return;
        }
        open.add(client);
        open.add(upstream);
      }
      pump(client, upstream);
      pump(upstream, client);
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (SocketException e) {
        // closed by the other direction or by cut()
      } catch (IOException e) {
        LOG.debug("proxy pump: {}", e.toString());
      } finally {
        closeQuietly(from);
        closeQuietly(to);
        open.remove(from);
        open.remove(to);
      }
    }, "tcp-proxy-pump-" + port);
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    cut();
  }
}
