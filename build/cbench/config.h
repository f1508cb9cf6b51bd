/* Stands in for the config.h that spice-gtk's build generates: the decoder
 * sources include it but need nothing from it (see decoders.c). */
#pragma once
