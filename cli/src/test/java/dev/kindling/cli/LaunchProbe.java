package dev.kindling.cli;

/** A rank started by {@link LaunchCommandTest}: reports its environment, or fails on rank 1 ("fail"). */
public final class LaunchProbe {
    public static void main(String[] args) throws InterruptedException {
        String rank = System.getenv("RANK");
        System.out.println("rank " + rank + " of " + System.getenv("WORLD_SIZE") + " threads " + System.getProperty("kindling.threads")
                + " master " + System.getenv("MASTER_ADDR") + " " + (System.getenv("MASTER_PORT") != null));
        if (args[0].equals("fail")) {
            if (rank.equals("1")) {
                System.err.println("rank 1 gives up");
                System.exit(7);
            }
            Thread.sleep(120_000); // the launcher must stop this one
        }
    }
}
