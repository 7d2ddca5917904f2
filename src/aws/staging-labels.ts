/**
 * The staging labels Secrets Manager itself gives meaning to (AWS Secrets Manager user guide,
 * "Concepts: Version"): AWSCURRENT is what applications read, AWSPENDING a version being rotated
 * in, AWSPREVIOUS the last version AWSCURRENT left (moved there by AWS automatically).
 */
export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';
