"""The assumptions of terrain analysis, each with its unit and source.

These are module constants rather than ``survey.toml`` settings for now; every function that uses
one takes it as a keyword argument too. docs/terrain.md explains each.
"""

from __future__ import annotations

# -- geometry ---------------------------------------------------------------------------------------
# Standard effective earth radius factor k = 4/3 for the median refractivity gradient
# (ITU-R P.834, P.526 section 1; "4/3 earth").
EFFECTIVE_EARTH_FACTOR = 4.0 / 3.0
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius, as surveyor.geo.distance
# Towers farther than this from a cell are not considered: the DEM reaches 15 km around the village,
# and a 4G macro cell rarely serves a phone beyond it in hills.
MAX_TOWER_DISTANCE_M = 15_000.0
# Profile points are at most this far apart (the DEM is resampled bilinearly between pixels); the
# DEM's own pixel size is used when larger.
PROFILE_STEP_M = 30.0
MAX_PROFILE_POINTS = 1_024
# Paths are processed in batches of at most this many profile points (memory stays under ~100 MB).
BATCH_POINTS = 2_000_000

# -- clutter ----------------------------------------------------------------------------------------
# Height of trees and houses added on top of the terrain along a path, in metres. 0 by default:
# SRTM and Copernicus GLO-30 are surface models that already include part of the canopy
# (documented limitation). Clutter is never added within CLUTTER_CLEAR_M of either end (the tower's
# own plot, the spot where the phone or the home antenna is).
CLUTTER_HEIGHT_M = 0.0
CLUTTER_CLEAR_M = 100.0

# -- antennas and power -----------------------------------------------------------------------------
# Antenna height of a tower when the towers list does not give one: a typical rural macro site in
# Indonesia puts its antennas on a 30-42 m tower (BAKTI's standard towers are 32 m and 42 m).
DEFAULT_TOWER_HEIGHT_M = 30.0
# A phone held in the hand: the standard mobile height of the Okumura-Hata model.
PHONE_HEIGHT_M = 1.5
# A household's antenna on a bamboo or steel pole: `surveyor antenna --height` default.
HOME_MAST_HEIGHT_M = 6.0
# Tallest mast `surveyor antenna` will propose; beyond it a home antenna is not the answer.
MAX_HOME_MAST_M = 30.0
# Impossible heights for an antenna above ground (towers add): under 1 m or above 300 m.
TOWER_HEIGHT_RANGE_M = (1.0, 300.0)
# EIRP per LTE resource element, the quantity RSRP measures: 46 dBm total for a 10 MHz carrier
# (600 subcarriers; 3GPP TR 36.814 Table A.2.1.1-2, macro cell) = 46 - 10 log10(600) = 18.2 dBm per
# subcarrier, plus 15 dBi antenna gain net of feeder loss (3GPP TR 36.942 section 4.4). Calibration
# on the survey's own cells replaces this guess with a fitted offset per operator.
EIRP_PER_RE_DBM = 33.2

# -- frequencies ------------------------------------------------------------------------------------
# When neither the samples (EARFCN) nor `towers add --band` say: LTE band 3 (1800 MHz), the band
# every Indonesian operator runs 4G on; downlink centre 1842.5 MHz.
DEFAULT_FREQUENCY_MHZ = 1842.5
DEFAULT_BAND = 3

# -- path loss --------------------------------------------------------------------------------------
# Okumura-Hata (150-1500 MHz) and COST-231-Hata (1500-2000 MHz, extrapolated to 2600 MHz) with Hata's
# suburban correction: a village of scattered houses among trees.
HATA_ENVIRONMENT = "suburban"

# -- line of sight, Fresnel zone, diffraction -------------------------------------------------------
# A path "clears the first Fresnel zone" when terrain stays out of 60% of its radius everywhere:
# the usual radio-link criterion, where knife-edge loss is about 0 dB (ITU-R P.530 section 2.2.2;
# nu = -0.6 * sqrt(2) = -0.85 gives J(nu) < 0.1 dB in ITU-R P.526 eq. 31).
FRESNEL_CLEARANCE_FRACTION = 0.6
# A dead zone is "shadowed" when terrain blocks the direct line from every tower in range
# (knife-edge parameter nu > 0: the ridge stands above the line of sight; J > 6 dB).
SHADOW_NU = 0.0
# ITU-R P.526 eq. 31 is 0 for nu <= -0.78.
NU_MIN = -0.78

# -- calibration and prediction ---------------------------------------------------------------------
# A cell enters the fit with at least this many samples of the operator; its RSRP is their median,
# where samples without LTE (no service, 2G/3G only) count as "below every measured value".
CALIBRATION_MIN_SAMPLES = 5
# Fewer calibration cells than this: only an offset is fitted; fewer than CALIBRATION_MIN_CELLS_OFFSET:
# none (the prediction then uses EIRP_PER_RE_DBM as it is and says "uncalibrated").
CALIBRATION_MIN_CELLS_SLOPE = 10
CALIBRATION_MIN_CELLS_OFFSET = 3
# The fitted slope correction is kept within this many dB per decade of distance.
CALIBRATION_MAX_SLOPE_DB = 20.0
# Spread of the prediction around the truth when cross-validation cannot measure it (dB).
DEFAULT_PREDICTION_SIGMA_DB = 8.0

# -- site search ------------------------------------------------------------------------------------
SITE_MAST_HEIGHTS_M = (15.0, 30.0, 42.0)
SITE_CANDIDATES = 40  # high points inside the area considered
SITE_CANDIDATE_SPACING_M = 300.0
SITE_TOP_K = 3
# A new site "serves" a cell when its predicted RSRP clears the usable-4G threshold by this margin.
SITE_MARGIN_DB = 5.0
# BAKTI's requirements for a new BTS site (BAKTI Kominfo, BTS 4G programme): a plot of 20 x 20 m with
# power (PLN connection), road access, and someone from the village to look after it.
BAKTI_PLOT_M = (20.0, 20.0)
