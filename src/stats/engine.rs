pub struct StatsEngine;
