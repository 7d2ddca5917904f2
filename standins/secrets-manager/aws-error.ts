/**
 * An error the stand-in answers with, in the shape AWS JSON 1.1 services use:
 * HTTP status + `x-amzn-ErrorType` header + `{"__type": name, "message": ...}` body.
 * Messages must never contain secret values.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly awsName: string,
    message: string,
    readonly httpStatus: number = 400,
  ) {
    super(message);
    this.name = 'AwsServiceError';
  }
}

export const invalidParameter = (message: string): AwsServiceError =>
  new AwsServiceError('InvalidParameterException', message);

export const invalidRequest = (message: string): AwsServiceError =>
  new AwsServiceError('InvalidRequestException', message);

export const resourceNotFound = (message: string): AwsServiceError =>
  new AwsServiceError('ResourceNotFoundException', message);

export const resourceExists = (message: string): AwsServiceError =>
  new AwsServiceError('ResourceExistsException', message);
