package dev.kindling.spark;

import org.apache.spark.sql.SparkSession;

/** Spark sessions for the tests: local threads, or a cluster of separate executor JVMs on this machine. */
final class Sessions {
    private Sessions() {
    }

    static SparkSession local() {
        return base("local[2]").getOrCreate();
    }

    /**
     * A standalone master and two workers in this JVM, each worker launching one executor JVM with 1 core
     * (Spark's local-cluster mode). Without a Spark distribution the executors take their classpath from
     * spark.executor.extraClassPath (the test classpath; surefire sets SPARK_TESTING for the launcher).
     */
    static SparkSession cluster() {
        return base("local-cluster[2,1,1024]")
                .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .config("spark.executor.extraJavaOptions", "--add-modules jdk.incubator.vector " + System.getProperty("spark.jvm.opens", ""))
                // the first heartbeat brings training progress to the driver's log
                .config("spark.executor.heartbeatInterval", "2s")
                .getOrCreate();
    }

    private static SparkSession.Builder base(String master) {
        return SparkSession.builder().master(master).appName("kindling-test")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1");
    }
}
